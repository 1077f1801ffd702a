"""The MQTT consumer: one more thin adapter over record_readings.

It subscribes in on_connect, so a reconnect after a broker restart subscribes again; paho's
loop reconnects with back-off. The session is persistent (fixed client id, MQTT 5 without
clean start and with a session that never expires) and readings are QoS 1, so what is published while the consumer or the broker is down
arrives when both are back. A message is acknowledged to the broker only after its readings
are committed, or refused for good (a bad reading); when the database cannot be reached it is
left unacknowledged and comes again with the next session. Messages are stored in batches, one
transaction each (ReadingConsumer); a redelivered message's readings are skipped as stored.
"""
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import OperationalError

from ..core.actor import Actor
from ..core.db import unit_of_work
from ..core.errors import DomainError
from ..extensions import db
from ..storage.service import container_by_barcode
from . import service

log = logging.getLogger(__name__)

TOPIC_PREFIX = "biobank/readings/"
SUBSCRIPTION = TOPIC_PREFIX + "+"
MQTT_ACTOR = Actor(username="monitor", role="admin", via="mqtt")


@dataclass
class Outcome:
    status: str          # stored, refused, retry
    detail: str
    stored: int = 0


def handle_message(topic: str, payload: bytes, *, now=None) -> Outcome:
    """Parse one message and hand its readings to the service, in one unit of work."""
    return handle_messages([(topic, payload)], now=now)[0]


def _parse(topic: str, payload: bytes):
    """(barcode, items) or the Outcome refusing the message."""
    if not topic.startswith(TOPIC_PREFIX) or topic == TOPIC_PREFIX:
        return Outcome("refused", f"topic {topic} is not {TOPIC_PREFIX}<container barcode>")
    try:
        items = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Outcome("refused", f"{topic}: the payload is not JSON")
    return topic[len(TOPIC_PREFIX):], items


def handle_messages(messages: list[tuple[str, bytes]], *, now=None) -> list[Outcome]:
    """Parse a batch of messages and store their readings in one transaction, one Outcome per
    message. Each message stays all or nothing: the messages of one container are first stored
    as one batch (a reading sent again, in this batch or before, is skipped); if one of them is
    refused, each is stored or refused on its own, in a savepoint of the same transaction."""
    outcomes: list[Outcome | None] = [None] * len(messages)
    groups: dict[str, list[tuple[int, object]]] = {}
    for number, (topic, payload) in enumerate(messages):
        parsed = _parse(topic, payload)
        if isinstance(parsed, Outcome):
            outcomes[number] = parsed
        else:
            groups.setdefault(parsed[0], []).append((number, parsed[1]))
    try:
        with unit_of_work():
            for barcode, group in groups.items():
                for number, outcome in _store_group(barcode, group, [messages[n][0] for n, _ in group], now):
                    outcomes[number] = outcome
    except OperationalError as exc:
        for number, _ in (entry for group in groups.values() for entry in group):
            outcomes[number] = Outcome("retry", f"{messages[number][0]}: database unavailable "
                                                f"({exc.__class__.__name__})")
    finally:
        db.session.remove()
    return outcomes


def _store_group(barcode: str, group: list, topics: list[str], now) -> list[tuple[int, Outcome]]:
    """The messages of one container: together if all are good, else one by one."""
    try:
        container = container_by_barcode(barcode)
    except DomainError as exc:
        reason = (f"no container has the barcode {barcode}" if exc.code == "unknown_barcode" else exc.message)
        return [(number, Outcome("refused", f"{topic}: {reason}")) for (number, _), topic in zip(group, topics)]
    if len(group) > 1:
        merged = _merged(group)
        if merged is not None:
            try:
                with db.session.begin_nested():
                    result = service.record_readings(MQTT_ACTOR, container.id, merged[0], source="mqtt",
                                                     skip_duplicates=True, now=now)
            except DomainError:
                pass    # one of them is refused: each on its own below
            else:
                return _merged_outcomes(group, topics, merged[1], result)
    return [(number, _store_one(container, items, topic, now)) for (number, items), topic in zip(group, topics)]


def _merged(group: list) -> tuple[list, list[tuple[int, int]]] | None:
    """The readings of many messages as one batch, and each message's [start, stop) in it; a
    reading another message of the batch already carries is left out (it would be skipped as
    stored). None when a message is not a list of readings (it is handled on its own)."""
    items, spans, earlier = [], [], {}
    for _, readings in group:
        if isinstance(readings, dict):
            readings = [readings]
        if not isinstance(readings, list) or not readings or not all(isinstance(r, dict) for r in readings):
            return None
        begin, mine = len(items), {}
        for reading in readings:
            key = (reading.get("sensor"), reading.get("at"))
            mine[key] = reading
            # the very reading of an earlier message is left out; twice in one message, or the same
            # sensor and time with other values, is refused by the batch and sorted out one by one
            if earlier.get(key) != reading:
                items.append(reading)
        earlier.update(mine)
        spans.append((begin, len(items)))
    return items, spans


def _merged_outcomes(group, topics, spans, result) -> list[tuple[int, Outcome]]:
    skipped = sorted(entry["index"] for entry in result.skipped_duplicates)
    opened = [alarm.id for alarm in result.alarms_opened]
    answers = []
    for (number, _), topic, (begin, stop) in zip(group, topics, spans):
        stored = stop - begin - sum(1 for index in skipped if begin <= index < stop)
        detail = f"{topic}: stored {stored}" + (f", opened alarm(s) {opened}" if opened else "")
        answers.append((number, Outcome("stored", detail, stored)))
        opened = []     # named once, on the first message of the batch
    return answers


def _store_one(container, items, topic: str, now) -> Outcome:
    try:
        with db.session.begin_nested():
            result = service.record_readings(MQTT_ACTOR, container.id, items, source="mqtt",
                                             skip_duplicates=True, now=now)
    except DomainError as exc:
        return Outcome("refused", f"{topic}: {exc.message}")
    opened = [alarm.id for alarm in result.alarms_opened]
    detail = f"{topic}: stored {result.accepted}" + (f", opened alarm(s) {opened}" if opened else "")
    return Outcome("stored", detail, result.accepted)


class ReadingConsumer:
    """Messages are taken in batches: up to batch_size of them, or what came within batch_ms of
    the first, stored in one transaction and then acknowledged. The broker keeps up to two
    batches in flight to the consumer (MQTT 5 Receive Maximum; MQTT 3.1.1 allows a broker's
    default of 20), and the session outlives the connection (Session Expiry: never)."""

    def __init__(self, app, *, host="127.0.0.1", port=1883, client_id="biobank-monitor", username=None,
                 password=None, keepalive=30, check_every: float | None = 60, max_backoff=60,
                 batch_size: int = 500, batch_ms: float = 50):
        self.app = app
        self.check_every = check_every
        self.batch_size, self.batch_seconds = max(1, batch_size), batch_ms / 1000
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.outcomes: list[Outcome] = []     # the latest few, for the log and for tests
        self.inbox: queue.Queue = queue.Queue()
        self.worker: threading.Thread | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=max_backoff)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.host, self.port, self.keepalive = host, port, keepalive

    # -- paho callbacks --------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        client.subscribe(SUBSCRIPTION, qos=1)
        log.info("connected to %s:%s, subscribed to %s (session present: %s)", self.host, self.port,
                 SUBSCRIPTION, flags.session_present)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting with back-off", reason_code)

    def _on_message(self, client, userdata, message):
        self.inbox.put(message)

    # -- batches ---------------------------------------------------------------
    def _next_batch(self) -> list:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _consume(self) -> None:
        while not self.stopping.is_set():
            batch = self._next_batch()
            if batch:
                self._take(batch)

    def _take(self, batch: list) -> None:
        outcomes = self._handle([(message.topic, message.payload) for message in batch])
        self.outcomes = (self.outcomes + outcomes)[-100:]
        stored = 0
        for message, outcome in zip(batch, outcomes):
            if outcome.status == "retry":
                log.error("%s; the message stays unacknowledged and comes again", outcome.detail)
                continue
            if outcome.status == "stored":
                stored += 1
            else:
                log.warning("%s", outcome.detail)
            self.client.ack(message.mid, message.qos)
        if stored:  # one line a batch: a line per reading would cost more than storing it
            log.info("%s of %s messages stored (latest: %s)", stored, len(batch),
                     next(o.detail for o in reversed(outcomes) if o.status == "stored"))

    def _handle(self, messages) -> list[Outcome]:
        delay = 0.5
        for attempt in range(5):
            with self.app.app_context():
                outcomes = handle_messages(messages)
            if all(o.status != "retry" for o in outcomes) or self.stopping.is_set():
                return outcomes
            time.sleep(delay)
            delay = min(delay * 2, 8)
        return outcomes

    # -- running -----------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and consume."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0xFFFFFFFF      # the session never ends on the broker
        properties.ReceiveMaximum = min(65535, 2 * self.batch_size)
        self.worker = threading.Thread(target=self._consume, name="mqtt-readings", daemon=True)
        self.worker.start()
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=False,
                                  properties=properties)
        self.client.loop_start()

    def stop(self) -> None:
        """Finish (and acknowledge) the batch in hand, then disconnect; what is still in the inbox
        is not acknowledged, so the broker sends it again to the next session."""
        self.stopping.set()
        if self.worker is not None:
            self.worker.join(timeout=60)
        self.client.disconnect()
        self.client.loop_stop()

    def check_silence(self) -> int:
        with self.app.app_context():
            try:
                with unit_of_work():
                    opened = service.check_silence(service.MONITOR)
                    for alarm in opened:
                        log.warning("alarm %s opened: %s", alarm.id, alarm.message)
                    return len(opened)
            except OperationalError as exc:
                log.error("silence check skipped: database unavailable (%s)", exc.__class__.__name__)
                return 0
            finally:
                db.session.remove()

    def run_forever(self) -> None:
        """Consume until stopped (Ctrl-C or SIGTERM), checking for silent sensors every check_every seconds."""
        self.start()
        try:
            while not self.stopping.wait(self.check_every or 3600):
                if self.check_every:
                    self.check_silence()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
