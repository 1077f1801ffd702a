"""Monitoring benchmarks, in-process (Flask test client) on SQLite and, when it answers,
PostgreSQL:

- readings_month_vs_lookup: a tank's temperature chart (SVG) over a month of one-minute readings
  (43,200 rows; the whole hours read from their hourly extremes, the two partial hours from the
  readings, min/max per bucket in the database) against a sample lookup in the same app. The
  month must not cost like shipping 43,200 points. The whole page (both charts) is reported beside.
- readings_ingest: readings per second stored over HTTP (batches of 1,000) and over MQTT
  (one message per reading, as a sensor sends them, through the real broker and consumer).
"""
import json
import statistics
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
    from sqlalchemy import func, select
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
    consumer = ReadingConsumer(app, port=MQTT_PORT, client_id=client_id, check_every=None)
    consumer.start()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{client_id}-pub")
    publisher.max_inflight_messages_set(100)
    publisher.connect("127.0.0.1", MQTT_PORT)
    publisher.loop_start()
    try:
        if not consumer.connected.wait(15):
            return None
        time.sleep(0.3)
        start = utcnow().replace(microsecond=0) - timedelta(hours=2)
        t0 = time.perf_counter()
        for i in range(n):
            payload = json.dumps({"at": (start + timedelta(seconds=i)).isoformat() + "Z", "sensor": "p",
                                  "temperature_c": -190.0})
            publisher.publish(f"biobank/readings/{barcode}", payload, qos=1)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            db.session.rollback()
            stored = db.session.execute(select(func.count()).select_from(Reading)
                                        .where(Reading.container_id == box_id)).scalar_one()
            if stored >= n:
                break
            time.sleep(0.05)
        return n / (time.perf_counter() - t0)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        consumer.stop()
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleaner.connect("127.0.0.1", MQTT_PORT)
        cleaner.disconnect()


def run(minutes: int, reps: int, mqtt_n: int) -> dict:
    backends = ["sqlite"] + ([] if postgres_available() else ["postgres"])
    figures = {backend: _one_backend(backend, minutes, reps, mqtt_n) for backend in backends}
    main = figures["sqlite"]
    ratio = main["svg_ms"] / main["lookup_ms"]
    detail = {f"{backend}_{key}": value for backend, f in figures.items() for key, value in f.items()}
    rates = [f["mqtt_readings_per_s"] for f in figures.values() if f["mqtt_readings_per_s"]]
    return {
        "readings_month_vs_lookup": {
            "ratio": ratio, "target": "<= 3 (a month's chart)", "ok": ratio <= 3,
            "inputs": {"readings": minutes, "backends": "+".join(backends),
                       "measure": "median ms of the month's temperature chart (SVG) / of a sample lookup, "
                                  "in-process, SQLite"},
            "detail": {k: v for k, v in detail.items() if "ms" in k}},
        "readings_ingest": {
            "ratio": min(rates) if rates else main["http_readings_per_s"], "unit": "readings/s",
            "target": "reported (readings/s over MQTT, one per message)", "ok": None,
            "inputs": {"http_batch": 1000, "mqtt_messages": mqtt_n, "backends": "+".join(backends),
                       "mqtt": "127.0.0.1:1883, QoS 1" if rates else "broker not reachable: HTTP only"},
            "detail": {k: v for k, v in detail.items() if "per_s" in k}},
    }
