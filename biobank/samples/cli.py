import sys
from pathlib import Path

import click
from flask_babel import gettext as _, ngettext
from flask.cli import AppGroup

from ..core.actor import system_actor
from ..core.db import unit_of_work
from ..core.errors import DomainError, ImportRejected
from ..storage.placement import STRATEGIES
from . import importer

import_cli = AppGroup("import", help="Bulk imports.")


@import_cli.command("samples")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strategy", type=click.Choice(STRATEGIES), default="compact", show_default=True,
              help="Placement for rows without container_id/position.")
def import_samples(file, strategy):
    """Register every sample in FILE.csv, or none if any row is bad."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(_("%(file)s is not UTF-8 text.", file=file)) from None
    rows = max(0, text.count("\n"))
    try:
        with click.progressbar(length=2 * rows, label=_("Importing %(file)s", file=file.name), file=sys.stderr) as bar:
            with unit_of_work():
                barcodes = importer.import_samples(system_actor("cli"), text, strategy=strategy,
                                                   progress=bar.update)
    except ImportRejected as exc:
        click.echo("\n" + _("%(file)s: nothing imported; %(num)d bad row(s):", file=file.name, num=len(exc.details)),
                   err=True)
        for entry in exc.details:
            click.echo("  " + _("line %(num)s: %(errors)s", num=entry["line"], errors="; ".join(entry["errors"])),
                       err=True)
        raise SystemExit(1)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(ngettext("Imported %(num)d samples from %(file)s.", "Imported %(num)d samples from %(file)s.",
                        len(barcodes), file=file.name))
