import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.db import write_intent
from . import service

audit_cli = AppGroup("audit", help="The chain of custody.")


@audit_cli.command("verify")
def verify():
    """Recompute the hash chain; exit 1 and name the first bad event if it was altered."""
    write_intent.set(False)
    result = service.verify()
    if result.ok:
        click.echo(_("Chain intact: %(num)s events verified.", num=result.events_checked))
        return
    bad = result.first_bad_event
    click.echo(_("Chain BROKEN at event %(seq)s (%(action)s %(subject)s): %(problem)s. %(num)s events before it "
                 "verified.", seq=bad["seq"], action=bad.get("action") or "?", subject=bad.get("subject") or "",
                 problem=bad["problem"], num=result.events_checked), err=True)
    raise SystemExit(1)
