import click
from flask.cli import AppGroup

from ..core.db import write_intent
from . import service

audit_cli = AppGroup("audit", help="The chain of custody.")


@audit_cli.command("verify")
def verify():
    """Recompute the hash chain; exit 1 and name the first bad event if it was altered."""
    write_intent.set(False)
    result = service.verify()
    if result.ok:
        click.echo(f"Chain intact: {result.events_checked} events verified.")
        return
    bad = result.first_bad_event
    click.echo(f"Chain BROKEN at event {bad['seq']} ({bad.get('action') or '?'} {bad.get('subject') or ''}): "
               f"{bad['problem']}. {result.events_checked} events before it verified.", err=True)
    raise SystemExit(1)
