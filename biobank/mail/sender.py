"""Deliver the outbox: claim due messages one by one (so several senders never send the
same one), hand them to the SMTP server, mark them sent. A server that is down, slow
or answers 4xx means: try again later, after 1, 2, 4 ... minutes (at most an hour),
for as long as it takes. A 5xx refusal (no such mailbox) marks the message failed;
it stays in the outbox and `biobank mail retry` queues it again. Every failure is logged.

After a commit that queued mail, a short-lived thread runs one delivery pass
(`deliver_after_commit`); `biobank mail send --loop` is the worker that catches
everything else.
"""
import logging
import smtplib
import threading
from datetime import timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, has_app_context
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from ..core.time import utcnow
from ..extensions import db
from . import settings
from .models import OutboxMessage
from .outbox import PENDING_FLAG

log = logging.getLogger(__name__)
CLAIM = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
BATCH = 100


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LONGEST_RETRY)


def _claim(message_id: int, now) -> bool:
    claimed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
                                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .values(claimed_until=now + CLAIM)).rowcount
    db.session.commit()
    return claimed == 1


def _email(message: OutboxMessage, config: settings.Smtp) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config.sender
    email["To"] = ", ".join(message.addresses)
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=timezone.utc))
    # The same id on every attempt: a copy that did arrive before a timeout is recognisable.
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=config.sender.rpartition("@")[2]
                                     or "biobank")
    email["X-Biobank-Event"] = message.event
    email.set_content(message.body)
    return email


class _Connection:
    """One SMTP session for a delivery pass, opened on first use and reopened after an error."""

    def __init__(self, config: settings.Smtp):
        self.config, self.smtp = config, None

    def send(self, email: EmailMessage):
        if self.smtp is None:
            smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout)
            if self.config.starttls:
                smtp.starttls()
            if self.config.user:
                smtp.login(self.config.user, self.config.password or "")
            self.smtp = smtp
        self.smtp.send_message(email)

    def drop(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self.smtp = None


def _permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500 and not isinstance(
        error, smtplib.SMTPServerDisconnected)


def send_due(now=None, limit: int = BATCH) -> dict:
    """One delivery pass over the messages that are due; commits per message."""
    config = settings.smtp()
    result = {"sent": 0, "retry": 0, "failed": 0}
    if config is None:
        log.warning("mail: BIOBANK_SMTP_HOST is not set; messages stay in the outbox")
        return result
    now = now or utcnow()
    due = db.session.execute(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)).scalars().all()
    db.session.commit()
    connection = _Connection(config)
    try:
        for message_id in due:
            if not _claim(message_id, now):
                continue
            message = db.session.get(OutboxMessage, message_id)
            message.attempts += 1
            try:
                connection.send(_email(message, config))
            except (smtplib.SMTPException, OSError) as error:
                connection.drop()
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                if _permanent(error):
                    message.status = "failed"
                    result["failed"] += 1
                    log.error("mail %s (%s) to %s refused for good: %s", message.id, message.event,
                              message.recipients, message.last_error)
                else:
                    message.next_attempt_at = now + backoff(message.attempts)
                    result["retry"] += 1
                    log.warning("mail %s (%s) to %s not sent (attempt %d), next try at %s: %s", message.id,
                                message.event, message.recipients, message.attempts,
                                message.next_attempt_at.isoformat(timespec="seconds"), message.last_error)
            else:
                message.status, message.sent_at, message.last_error = "sent", utcnow(), None
                result["sent"] += 1
                log.info("mail %s (%s) sent to %s", message.id, message.event, message.recipients)
            message.claimed_until = None
            db.session.commit()
    finally:
        connection.drop()
    return result


def retry_failed(message_ids=None) -> int:
    """Queue failed messages again (all of them, or those named)."""
    query = update(OutboxMessage).where(OutboxMessage.status == "failed")
    if message_ids:
        query = query.where(OutboxMessage.id.in_(list(message_ids)))
    return db.session.execute(query.values(status="pending", next_attempt_at=utcnow())).rowcount


def _deliver_in_thread(app):
    with app.app_context():
        try:
            send_due()
        except Exception:   # the outbox keeps the message; the worker or the next commit sends it
            log.exception("mail: delivery after commit failed")
        finally:
            db.session.remove()


_threads: list[threading.Thread] = []


def deliver_after_commit(app) -> threading.Thread:
    thread = threading.Thread(target=_deliver_in_thread, args=(app,), name="mail-after-commit", daemon=True)
    _threads[:] = [t for t in _threads if t.is_alive()] + [thread]
    thread.start()
    return thread


def wait_for_deliveries(timeout: float = 30) -> None:
    """Wait for the after-commit delivery threads (tests, and the CLI before it exits)."""
    for thread in list(_threads):
        thread.join(timeout)


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    if session.info.pop(PENDING_FLAG, False) and has_app_context() and settings.send_after_commit() \
            and settings.smtp() is not None:
        deliver_after_commit(current_app._get_current_object())


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(PENDING_FLAG, None)
