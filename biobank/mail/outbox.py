"""Queue e-mail inside the current transaction: `notify(...)` adds outbox rows that commit
or roll back with the change they tell about. Any domain calls it (requests, shipments,
alarms, capacity alerts); the sender delivers after the commit.

Recipients are addresses, users (by id) and roles; users without an address or
inactive are left out (and logged), and each address gets one copy.
"""
import logging

from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from .models import OutboxMessage

log = logging.getLogger(__name__)
PENDING_FLAG = "mail_pending"


def addresses_of(*, user_ids=(), roles=()) -> list[str]:
    wanted = []
    if user_ids:
        wanted += db.session.execute(select(User).where(User.id.in_(list(user_ids)))).scalars().all()
    if roles:
        wanted += db.session.execute(select(User).where(User.role.in_(list(roles)), User.active.is_(True))
                                     .order_by(User.id)).scalars().all()
    found = []
    for user in wanted:
        if user.active and user.email:
            found.append(user.email)
        else:
            log.info("no e-mail for %s (%s): %s", user.username, user.role,
                     "inactive" if not user.active else "no address on file")
    return found


def notify(event: str, subject: str, body: str, *, to=(), user_ids=(), roles=()) -> OutboxMessage | None:
    """Queue one message to every address named, directly or through users and roles.
    Nothing is queued when nobody can be reached. Never commits."""
    recipients = []
    for address in list(to) + addresses_of(user_ids=user_ids, roles=roles):
        address = address.strip()
        if address and "," not in address and address.lower() not in {a.lower() for a in recipients}:
            recipients.append(address)
    if not recipients:
        log.info("%s: nobody to tell by e-mail", event)
        return None
    message = OutboxMessage(event=event, recipients=",".join(recipients), subject=subject[:300], body=body,
                            status="pending", attempts=0)
    db.session.add(message)
    db.session.info[PENDING_FLAG] = True
    return message
