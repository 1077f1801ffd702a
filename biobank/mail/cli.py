"""`biobank mail send|status|retry`: the outbox worker and its dashboard."""
import time

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core.db import unit_of_work
from ..extensions import db
from . import sender, settings
from .models import OutboxMessage

mail_cli = AppGroup("mail", help="E-mail outbox: send what is due, show what waits or failed.")


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep sending (a worker), every --interval seconds.")
@click.option("--interval", default=30.0, show_default=True, type=float)
@with_appcontext
def send_command(loop, interval):
    """Send the messages that are due (retries wait for their back-off)."""
    if settings.smtp() is None:
        raise click.ClickException(_("BIOBANK_SMTP_HOST is not set: nowhere to send mail."))
    while True:
        result = sender.send_due()
        click.echo(_("sent %(sent)s, to retry %(retry)s, refused %(failed)s", **result))
        db.session.remove()
        if not loop:
            return
        time.sleep(interval)


@mail_cli.command("status")
@with_appcontext
def status_command():
    """How many messages wait, were sent or were refused; the refused and waiting ones by id."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    click.echo(", ".join(f"{status} {counts.get(status, 0)}" for status in ("pending", "sent", "failed")))
    waiting = db.session.execute(select(OutboxMessage).where(OutboxMessage.status != "sent")
                                 .order_by(OutboxMessage.id).limit(50)).scalars().all()
    for message in waiting:
        click.echo(f"  {message.id} {message.status} {message.event} to {message.recipients}, "
                   f"{message.attempts} attempt(s), next {message.next_attempt_at.isoformat(timespec='seconds')}Z"
                   + (f": {message.last_error}" if message.last_error else ""))


@mail_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@with_appcontext
def retry_command(ids):
    """Queue refused messages again (the ones named, or all)."""
    with unit_of_work():
        count = sender.retry_failed(ids)
    click.echo(_("%(count)s message(s) queued again", count=count))
