"""A real SMTP server for the mail tests (aiosmtpd on a free loopback port), and the app
pointed at it. Without aiosmtpd the tests skip; under CI=true they fail instead."""
import os
import time

import pytest

from biobank.core.ports import free_port
from biobank.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - depends on the machine
    Controller = None


class Mailbox:
    """What the SMTP server received; addresses in `refuse` get 550 at RCPT TO."""

    def __init__(self, refuse=()):
        self.messages, self.refuse = [], set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    """The test's own session must not hold SQLite's write lock while a sender thread writes."""
    from biobank.core.db import write_intent
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


@pytest.fixture
def smtp_server():
    """smtp_server(port=None, refuse=()) -> (mailbox, port): a running SMTP server, stopped after the test."""
    if Controller is None:
        if IN_CI:
            pytest.fail("CI=true requires aiosmtpd (pip install -e '.[test]')")
        pytest.skip("aiosmtpd is not installed")
    running = []

    def start(port=None, refuse=()):
        mailbox = Mailbox(refuse)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        running.append(controller)
        return mailbox, controller.port
    yield start
    for controller in running:
        controller.stop()


@pytest.fixture
def mail_to(app):
    """mail_to(port): the app sends through 127.0.0.1:port."""
    def configure(port, after_commit=True):
        app.config.update(BIOBANK_SMTP_HOST="127.0.0.1", BIOBANK_SMTP_PORT=port,
                          BIOBANK_SMTP_FROM="biobank@hospital.example", BIOBANK_SMTP_TIMEOUT=5,
                          BIOBANK_MAIL_AFTER_COMMIT="1" if after_commit else "0",
                          BIOBANK_PUBLIC_URL="https://biobank.hospital.example")
    return configure


@pytest.fixture
def people(make):
    """Two managers, a technician and a researcher with e-mail addresses; a manager without one."""
    from biobank.auth.service import set_email
    found = {}
    for role, name in (("manager", "manager"), ("technician", "technician"), ("researcher", "researcher")):
        user = make._user_of(role)
        set_email(make.admin, user.username, f"{name}@hospital.example")
        found[name] = user
    second = make.user("manager", username="second-manager")
    set_email(make.admin, second.username, "second@hospital.example")
    make.user("manager", username="no-address-manager")
    db.session.commit()
    return found
