"""Monitoring fixtures: a watched LN2 tank, readings at chosen times, and a private Mosquitto
broker (its own port and persistence directory) that a test may stop and start."""
import os
import shutil
import socket
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from biobank.core.ports import free_port
from biobank.core.time import utcnow

IN_CI = os.environ.get("CI", "").lower() == "true"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def tank(make):
    return make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank M", storage_temperature="LN2_vapor")


def at(minutes_ago: float) -> str:
    """An ISO time `minutes_ago` minutes before now."""
    return (utcnow() - timedelta(minutes=minutes_ago)).replace(microsecond=0).isoformat() + "Z"


def reading(minutes_ago, temperature=-190.0, level=None, sensor="probe-1"):
    item = {"at": at(minutes_ago), "sensor": sensor, "temperature_c": temperature}
    if level is not None:
        item["ln2_level"] = level
    return item


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Broker:
    """mosquitto on 127.0.0.1:<port>, with persistence, started and stopped by the test."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        # Started as root, mosquitto would switch to its own user, which cannot write here.
        stay = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        self.config.write_text(f"{stay}listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {directory}/\nautosave_interval 1\n"
                               f"log_dest file {directory}/mosquitto.log\n")
        self.process = None

    def start(self):
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("mosquitto did not start: " + (self.directory / "mosquitto.log").read_text()
                                   if (self.directory / "mosquitto.log").exists() else "mosquitto did not start")
            time.sleep(0.05)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()     # SIGTERM: mosquitto saves its persistence file first
            self.process.wait(timeout=10)
        self.process = None


def _mosquitto_missing() -> str | None:
    if not os.path.exists(MOSQUITTO):
        return "the MQTT tests need Debian's mosquitto (apt-get install mosquitto)"
    if not _listening(1883):
        return "the MQTT tests need the Mosquitto broker on 127.0.0.1:1883"
    return None


@pytest.fixture
def broker(tmp_path):
    reason = _mosquitto_missing()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires Mosquitto: {reason}")
        pytest.skip(reason)
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def system_broker():
    """The machine's broker on 127.0.0.1:1883."""
    reason = _mosquitto_missing()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires Mosquitto: {reason}")
        pytest.skip(reason)
    return 1883


__all__ = ["at", "reading", "datetime"]
