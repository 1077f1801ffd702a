"""`biobank correct samples FILE [--dry-run]`: the corrections CSV from the command line."""
from pathlib import Path

import click
from flask_babel import gettext as _, ngettext
from flask.cli import AppGroup

from ..core.actor import system_actor
from ..core.db import unit_of_work
from ..core.errors import DomainError, ImportRejected
from . import corrections

correct_cli = AppGroup("correct", help="Correct recorded data.")


@correct_cli.command("samples")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and show each change; change nothing.")
def correct_samples(file, dry_run):
    """Correct the records in FILE.csv (barcode,<columns to correct>,reason): all rows or none."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(_("%(file)s is not UTF-8 text.", file=file)) from None
    try:
        with unit_of_work():
            result = corrections.correct_samples(system_actor("cli"), text, dry_run=dry_run)
    except ImportRejected as exc:
        click.echo(_("%(file)s: nothing corrected; %(num)d bad row(s):", file=file.name, num=len(exc.details)), err=True)
        for entry in exc.details:
            click.echo("  " + _("line %(num)s: %(errors)s", num=entry["line"], errors="; ".join(entry["errors"])),
                       err=True)
        raise SystemExit(1)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for row in result["rows"]:
        if row["cascaded_from"]:
            where = _("line %(num)s, with %(barcode)s", num=row["line"], barcode=row["cascaded_from"])
        else:
            where = _("line %(num)s", num=row["line"])
        click.echo(_("%(barcode)s (%(where)s): %(summary)s, reason: %(reason)s", barcode=row["barcode"], where=where,
                     summary=row["summary"], reason=row["reason"]))
    if dry_run:
        click.echo(ngettext("Dry run: %(num)d record(s) would be corrected; nothing was changed.",
                            "Dry run: %(num)d record(s) would be corrected; nothing was changed.", result["count"]))
    else:
        click.echo(ngettext("Corrected %(num)d record(s) from %(file)s.", "Corrected %(num)d record(s) from %(file)s.",
                            result["count"], file=file.name))
