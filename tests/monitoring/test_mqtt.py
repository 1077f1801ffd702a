"""The MQTT consumer against real Mosquitto: readings arrive through the same service as the
HTTP ones, and none is lost when the consumer or the broker restarts mid-stream (QoS 1, a
persistent session under a fixed client id)."""
import json
import time
import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from biobank.core.db import write_intent
from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.monitoring.models import Alarm, Reading
from biobank.monitoring.mqtt import ReadingConsumer, handle_message


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    """The consumer writes from its own thread; the test's session only reads between its checks."""
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


def _stored(container_id) -> int:
    db.session.rollback()    # a fresh snapshot: see what the consumer committed
    count = db.session.execute(select(func.count()).select_from(Reading)
                               .where(Reading.container_id == container_id)).scalar_one()
    db.session.rollback()
    return count


def _wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}",
                         clean_session=False, protocol=mqtt.MQTTv311)
    client.reconnect_delay_set(min_delay=0.2, max_delay=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _publish(client: mqtt.Client, barcode: str, items: list) -> None:
    for item in items:
        info = client.publish(f"biobank/readings/{barcode}", json.dumps([item]), qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()


def _readings(start: int, stop: int) -> list[dict]:
    base = utcnow().replace(microsecond=0) - timedelta(hours=3)
    return [{"at": (base + timedelta(minutes=i)).isoformat() + "Z", "sensor": "mqtt-probe",
             "temperature_c": -190.0, "ln2_level": 75.0} for i in range(start, stop)]


def _box(make, barcode):
    return make.box(rows=2, cols=2, barcode=barcode, storage_temperature="LN2_vapor")


def test_consumer_takes_readings_from_the_broker_and_opens_alarms(app, make, system_broker):
    barcode = f"MQ-{uuid.uuid4().hex[:10]}"
    box = _box(make, barcode)
    client_id = f"biobank-test-{uuid.uuid4().hex[:8]}"
    consumer = ReadingConsumer(app, port=system_broker, client_id=client_id, check_every=None)
    consumer.start()
    publisher = _publisher(system_broker)
    try:
        assert consumer.connected.wait(15), "the consumer did not connect"
        time.sleep(0.3)   # the subscription is acknowledged
        items = _readings(0, 5)
        items[3]["temperature_c"] = -100.0          # an excursion: one alarm
        _publish(publisher, barcode, items)
        publisher.publish(f"biobank/readings/{barcode}", b"not json", qos=1).wait_for_publish(5)
        publisher.publish("biobank/readings/NO-SUCH-TANK-XYZ", json.dumps(_readings(0, 1)), qos=1).wait_for_publish(5)
        _wait_for(lambda: _stored(box.id) == 5, what="5 readings stored")
        _wait_for(lambda: any("not JSON" in o.detail for o in consumer.outcomes), what="the bad payload refused")
        _wait_for(lambda: any("NO-SUCH-TANK-XYZ" in o.detail and o.status == "refused" for o in consumer.outcomes),
                  what="the unknown container refused")
        alarms = db.session.execute(select(Alarm).where(Alarm.container_id == box.id)).scalars().all()
        assert [a.kind for a in alarms] == ["temperature"]
        sources = set(db.session.execute(select(Reading.source).where(Reading.container_id == box.id)).scalars())
        assert sources == {"mqtt"}
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        consumer.stop()
        _forget_session(system_broker, client_id)


def _forget_session(port, client_id):
    cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        cleaner.connect("127.0.0.1", port)
        cleaner.loop_start()
        time.sleep(0.2)
        cleaner.disconnect()
        cleaner.loop_stop()
    except OSError:
        pass


def test_no_reading_is_lost_when_the_consumer_and_the_broker_restart(app, make, broker):
    barcode = f"MQ-{uuid.uuid4().hex[:10]}"
    box = _box(make, barcode)
    client_id = "biobank-monitor-restart-test"
    consumer = ReadingConsumer(app, port=broker.port, client_id=client_id, check_every=None, max_backoff=2)
    consumer.start()
    publisher = _publisher(broker.port)
    try:
        assert consumer.connected.wait(15)
        time.sleep(0.3)
        _publish(publisher, barcode, _readings(0, 20))
        _wait_for(lambda: _stored(box.id) == 20, what="the first 20 readings")

        # 1. The consumer stops mid-stream; the broker keeps its session and queues what comes meanwhile.
        consumer.stop()
        _publish(publisher, barcode, _readings(20, 40))
        assert _stored(box.id) == 20

        # 2. The broker restarts too (its persistence file keeps the session and the queue).
        broker.stop()
        broker.start()
        _wait_for(lambda: publisher.is_connected(), what="the publisher to reconnect")
        consumer = ReadingConsumer(app, port=broker.port, client_id=client_id, check_every=None, max_backoff=2)
        consumer.start()
        assert consumer.connected.wait(15)
        _wait_for(lambda: _stored(box.id) == 40, what="the 20 readings queued while the consumer was away")

        # 3. The broker restarts under a running consumer: it reconnects with back-off and
        #    subscribes again in on_connect.
        broker.stop()
        _wait_for(lambda: not consumer.connected.is_set(), what="the consumer to notice")
        broker.start()
        _wait_for(lambda: consumer.connected.is_set(), timeout=30, what="the consumer to reconnect")
        _wait_for(lambda: publisher.is_connected(), what="the publisher to reconnect")
        time.sleep(0.3)
        _publish(publisher, barcode, _readings(40, 60))
        _wait_for(lambda: _stored(box.id) == 60, what="all 60 readings")
        time.sleep(0.5)
        assert _stored(box.id) == 60     # exactly once each
        times = db.session.execute(select(Reading.at).where(Reading.container_id == box.id)).scalars().all()
        assert len(set(times)) == 60
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        consumer.stop()


def test_handle_message_refuses_what_is_not_a_reading(app, make):
    box = _box(make, f"MQ-{uuid.uuid4().hex[:10]}")
    box_id, topic = box.id, f"biobank/readings/{box.barcode}"   # handle_message ends its session
    assert handle_message("elsewhere/x", b"[]").status == "refused"
    assert "not JSON" in handle_message(topic, b"{").detail
    assert handle_message("biobank/readings/NOPE-123", json.dumps(_readings(0, 1)).encode()).status == "refused"
    future = [{"at": (utcnow() + timedelta(hours=2)).isoformat() + "Z", "sensor": "p", "temperature_c": -190}]
    outcome = handle_message(topic, json.dumps(future).encode())
    assert outcome.status == "refused" and "future" in outcome.detail
    good = _readings(0, 2)
    assert handle_message(topic, json.dumps(good).encode()).stored == 2
    again = handle_message(topic, json.dumps(good[0]).encode())     # a redelivered message
    assert again.status == "stored" and again.stored == 0
    assert _stored(box_id) == 2


def test_a_batch_of_messages_is_stored_in_one_go_and_each_message_stays_all_or_nothing(app, make):
    from biobank.monitoring.mqtt import handle_messages
    box = _box(make, f"MQ-{uuid.uuid4().hex[:10]}")
    box_id, topic = box.id, f"biobank/readings/{box.barcode}"
    good = _readings(0, 4)
    batch = [(topic, json.dumps(good[:2]).encode()), (topic, json.dumps(good[2]).encode()),
             (topic, json.dumps(good[1]).encode())]             # the same reading again, redelivered
    assert [o.stored for o in handle_messages(batch)] == [2, 1, 0]
    assert _stored(box_id) == 3
    bad = dict(good[3], temperature_c="warm")
    outcomes = handle_messages([(topic, json.dumps([good[3]]).encode()),
                                (topic, json.dumps([good[0], bad]).encode()),   # one bad reading: refused whole
                                ("biobank/readings/NOPE-123", b"[]"), (topic, b"{")])
    assert [o.status for o in outcomes] == ["stored", "refused", "refused", "refused"]
    assert outcomes[0].stored == 1 and "temperature_c" in outcomes[1].detail
    assert _stored(box_id) == 4
