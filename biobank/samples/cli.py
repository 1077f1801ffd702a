import sys
from pathlib import Path

import click
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
        raise click.ClickException(f"{file} is not UTF-8 text.") from None
    rows = max(0, text.count("\n"))
    try:
        with click.progressbar(length=2 * rows, label=f"Importing {file.name}", file=sys.stderr) as bar:
            with unit_of_work():
                barcodes = importer.import_samples(system_actor("cli"), text, strategy=strategy,
                                                   progress=bar.update)
    except ImportRejected as exc:
        click.echo(f"\n{file.name}: nothing imported; {len(exc.details)} bad row(s):", err=True)
        for entry in exc.details:
            click.echo(f"  line {entry['line']}: {'; '.join(entry['errors'])}", err=True)
        raise SystemExit(1)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Imported {len(barcodes)} samples from {file.name}.")
