"""`biobank directory export`: the MIABIS directory document as JSON or CSV."""
import json

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.actor import system_actor
from ..core.errors import DomainError
from ..extensions import db
from . import alert_mail, directory

capacity_cli = AppGroup("capacity", help="Capacity of the storage.")
directory_cli = AppGroup("directory", help="What the biobank holds, for national and BBMRI-style directories.")


@directory_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(("json", "csv")), default="json", show_default=True)
@click.option("--min-count", type=int, help="suppress counts under this (never under BIOBANK_DIRECTORY_MIN_COUNT)")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="file (default: stdout)")
def export_command(fmt, min_count, output):
    """The biobank and its collections by diagnosis and material type, small counts suppressed."""
    try:
        document = directory.directory(system_actor("cli"), min_count)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    output.write(directory.to_csv(document) if fmt == "csv" else json.dumps(document, ensure_ascii=False, indent=2)
                 + "\n")


@capacity_cli.command("alert")
@click.option("--threshold", type=float, help="fill fraction that alerts (default BIOBANK_FILL_ALERT, 0.9)")
def alert_command(threshold):
    """E-mail the managers about every site, tank or rack at or above the fill threshold (each at most
    once a day); run it from cron."""
    try:
        queued = alert_mail.mail_fill_alerts(system_actor("cli"), threshold=threshold)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(_("%(num)s capacity alert(s) queued for e-mail.", num=len(queued))
               + "".join(f"\n  {a['message']}" for a in queued))
