"""The MQTT consumer: one more thin adapter over record_readings.

It subscribes in on_connect, so a reconnect after a broker restart subscribes again; paho's
loop reconnects with back-off. The session is persistent (fixed client id, clean_session
False) and readings are QoS 1, so what is published while the consumer or the broker is down
arrives when both are back. A message is acknowledged to the broker only after its readings
are committed, or refused for good (a bad reading); when the database cannot be reached it is
left unacknowledged and comes again with the next session.
"""
import json
import logging
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
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
    if not topic.startswith(TOPIC_PREFIX) or topic == TOPIC_PREFIX:
        return Outcome("refused", f"topic {topic} is not {TOPIC_PREFIX}<container barcode>")
    barcode = topic[len(TOPIC_PREFIX):]
    try:
        items = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Outcome("refused", f"{topic}: the payload is not JSON")
    try:
        with unit_of_work():
            container = container_by_barcode(barcode)
            result = service.record_readings(MQTT_ACTOR, container.id, items, source="mqtt",
                                             skip_duplicates=True, now=now)
            stored = result.accepted
            opened = [alarm.id for alarm in result.alarms_opened]
    except DomainError as exc:
        if exc.code == "unknown_barcode":
            return Outcome("refused", f"{topic}: no container has the barcode {barcode}")
        return Outcome("refused", f"{topic}: {exc.message}")
    except OperationalError as exc:
        return Outcome("retry", f"{topic}: database unavailable ({exc.__class__.__name__})")
    finally:
        db.session.remove()
    detail = f"{topic}: stored {stored}" + (f", opened alarm(s) {opened}" if opened else "")
    return Outcome("stored", detail, stored)


class ReadingConsumer:
    def __init__(self, app, *, host="127.0.0.1", port=1883, client_id="biobank-monitor", username=None,
                 password=None, keepalive=30, check_every: float | None = 60, max_backoff=60):
        self.app = app
        self.check_every = check_every
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.outcomes: list[Outcome] = []     # the latest few, for the log and for tests
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311, manual_ack=True)
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
        outcome = self._handle(message.topic, message.payload)
        self.outcomes = (self.outcomes + [outcome])[-100:]
        if outcome.status == "retry":
            log.error("%s; the message stays unacknowledged and comes again", outcome.detail)
            return
        (log.info if outcome.status == "stored" else log.warning)("%s", outcome.detail)
        client.ack(message.mid, message.qos)

    def _handle(self, topic, payload) -> Outcome:
        delay = 0.5
        for attempt in range(5):
            with self.app.app_context():
                outcome = handle_message(topic, payload)
            if outcome.status != "retry" or self.stopping.is_set():
                return outcome
            time.sleep(delay)
            delay = min(delay * 2, 8)
        return outcome

    # -- running -----------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and consume."""
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()
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
