"""Monitoring benchmarks, in-process (Flask test client) on SQLite and, when it answers,
PostgreSQL:

- readings_month_vs_lookup: a tank's temperature chart (SVG) over a month of one-minute readings
  (43,200 rows; the whole hours read from their hourly extremes, the two partial hours from the
  readings, min/max per bucket in the database) against a sample lookup in the same app. The
  month must not cost like shipping 43,200 points. The whole page (both charts) is reported beside.
- readings_ingest: readings per second stored over HTTP (batches of 1,000) and over MQTT
  (one message per reading, as a sensor sends them, from a publisher process of its own through
  the real broker to the consumer, which stores them in batches).
"""
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from .common import TempDatabase, app_context, postgres_available

MQTT_PORT = 1883


def _token(app):
    from biobank.auth.service import create_user, issue_token
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    user = create_user(system_actor("bench"), f"bench-{uuid.uuid4().hex[:6]}", "bench-password-1", "technician")
    token, _ = issue_token(user, 24)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _tank(barcode=None):
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.samples import service as samples
    from biobank.storage import service as storage
    actor = system_actor("bench")
    tank = storage.build_layout(actor, name="Bench tank", racks=2, boxes_per_rack=4, rows=10, cols=10,
                                storage_temperature="LN2_vapor")
    samples.register_sample(actor, barcode="BENCH-LOOKUP-1", sample_type="plasma", donor="D1", volume="1.0",
                            storage_temperature="LN2_vapor", location={"strategy": "compact"})
    db.session.commit()
    return tank


def _month(start, minutes):
    return [{"at": (start + timedelta(minutes=m)).isoformat() + "Z", "sensor": "probe-1",
             "temperature_c": -190.0 + (60.0 if m % 5000 == 0 else 0.0), "ln2_level": 80.0 - (m % 1440) / 100}
            for m in range(minutes)]


def _median_ms(client, path, headers, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        response.get_data()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times)


def _one_backend(backend: str, minutes: int, reps: int, mqtt_n: int) -> dict:
    from biobank.core.time import utcnow
    with TempDatabase(backend, "mon") as database, app_context(database.url) as app:
        headers = _token(app)
        tank = _tank()
        client = app.test_client()
        start = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=minutes + 5)
        items = _month(start, minutes)
        t0 = time.perf_counter()
        for i in range(0, len(items), 1000):
            response = client.post(f"/api/v1/containers/{tank.id}/readings", json=items[i:i + 1000], headers=headers)
            assert response.status_code == 201, response.get_json()
        http_rate = len(items) / (time.perf_counter() - t0)
        chart = _median_ms(client, f"/containers/{tank.id}/monitoring?period=month", headers, reps)
        svg = _median_ms(client, f"/containers/{tank.id}/monitoring/temperature.svg?period=month", headers, reps)
        lookup = _median_ms(client, "/api/v1/samples/BENCH-LOOKUP-1", headers, reps * 3)
        mqtt_rate = _mqtt_rate(app, mqtt_n) if mqtt_n else None
        return {"chart_ms": round(chart, 1), "svg_ms": round(svg, 1), "lookup_ms": round(lookup, 2),
                "http_readings_per_s": round(http_rate), "mqtt_readings_per_s": round(mqtt_rate) if mqtt_rate else None}


def _mqtt_rate(app, n: int) -> float | None:
    import socket
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", MQTT_PORT)) != 0:
            return None
    import paho.mqtt.client as mqtt
    from biobank.core.db import write_intent
    from biobank.core.time import utcnow
    from biobank.extensions import db
    from biobank.monitoring.models import Reading
    from biobank.monitoring.mqtt import ReadingConsumer
    from biobank.storage import service as storage
    from biobank.core.actor import system_actor
    barcode = f"BM-{uuid.uuid4().hex[:10]}"
    box = storage.create_container(system_actor("bench"), name="MQTT bench", kind="box", rows=2, cols=2,
                                   barcode=barcode)
    db.session.commit()
    box_id = box.id
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    write_intent.set(False)     # this thread only counts; the consumer's thread writes
    consumer = ReadingConsumer(app, port=MQTT_PORT, client_id=client_id, check_every=None)
    consumer.start()
    publisher = None
    try:
        if not consumer.connected.wait(15):
            return None
        time.sleep(0.3)
        start = utcnow().replace(microsecond=0) - timedelta(seconds=n + 3600)  # every reading in the past
        # The sensors are other machines: the publisher is a process of its own. It sends one
        # message first, so the timing starts with the consumer's statements prepared.
        publisher = subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(MQTT_PORT), f"{client_id}-pub",
                                      f"biobank/readings/{barcode}", (start - timedelta(seconds=1)).isoformat(),
                                      str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if publisher.stdout.readline().strip() != "ready" or not _wait_stored(db, Reading, box_id, 1,
                                                                               time.monotonic() + 60):
            raise RuntimeError("the MQTT publisher did not start")
        t0 = time.perf_counter()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        if not _wait_stored(db, Reading, box_id, n + 1, time.monotonic() + 600):
            raise RuntimeError("the MQTT readings were not all stored within 10 minutes")
        rate = n / (time.perf_counter() - t0)
        publisher.communicate(timeout=60)
        return rate
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
        consumer.stop()
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleaner.connect("127.0.0.1", MQTT_PORT)
        cleaner.disconnect()


# argv: port, client id, topic, first time (ISO, UTC), n. One message at the first time, "ready",
# then on "go" from stdin n more a second apart, QoS 1; exits when the broker has taken them all.
_PUBLISHER = """
import json, sys
from datetime import datetime, timedelta
import paho.mqtt.client as mqtt
port, client_id, topic, first, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
first = datetime.fromisoformat(first)
payloads = [json.dumps({"at": (first + timedelta(seconds=i)).isoformat() + "Z", "sensor": "p",
                        "temperature_c": -190.0}) for i in range(n + 1)]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
client.max_inflight_messages_set(100)
client.connect("127.0.0.1", port)
client.loop_start()
client.publish(topic, payloads[0], qos=1).wait_for_publish(30)
print("ready", flush=True)
sys.stdin.readline()
for payload in payloads[1:]:
    info = client.publish(topic, payload, qos=1)
info.wait_for_publish(300)
client.loop_stop()
client.disconnect()
"""


def _wait_stored(db, Reading, box_id: int, n: int, deadline: float) -> bool:
    from sqlalchemy import func, select
    while time.monotonic() < deadline:
        db.session.rollback()
        stored = db.session.execute(select(func.count()).select_from(Reading)
                                    .where(Reading.container_id == box_id)).scalar_one()
        db.session.rollback()   # hold no transaction (on SQLite: no write lock) while waiting
        if stored >= n:
            return True
        time.sleep(0.02)
    return False


def run(minutes: int, reps: int, mqtt_n: int) -> dict:
    backends = ["sqlite"] + ([] if postgres_available() else ["postgres"])
    figures = {backend: _one_backend(backend, minutes, reps, mqtt_n) for backend in backends}
    main = figures["sqlite"]
    ratio = main["svg_ms"] / main["lookup_ms"]
    detail = {f"{backend}_{key}": value for backend, f in figures.items() for key, value in f.items()}
    rates = [f[key] for f in figures.values() for key in ("http_readings_per_s", "mqtt_readings_per_s") if f[key]]
    return {
        "readings_month_vs_lookup": {
            "ratio": ratio, "target": "<= 3 (a month's chart)", "ok": ratio <= 3,
            "inputs": {"readings": minutes, "backends": "+".join(backends),
                       "measure": "median ms of the month's temperature chart (SVG) / of a sample lookup, "
                                  "in-process, SQLite"},
            "detail": {k: v for k, v in detail.items() if "ms" in k}},
        "readings_ingest": {
            "ratio": min(rates), "unit": "readings/s",
            "target": ">= 5000 (the slowest of HTTP and MQTT)", "ok": min(rates) >= 5000,
            "inputs": {"http_batch": 1000, "mqtt_messages": mqtt_n, "backends": "+".join(backends),
                       "mqtt": ("127.0.0.1:1883, QoS 1, one reading per message" if main["mqtt_readings_per_s"]
                                else "broker not reachable: HTTP only")},
            "detail": {k: v for k, v in detail.items() if "per_s" in k}},
    }
