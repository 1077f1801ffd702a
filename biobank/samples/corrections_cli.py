"""`biobank correct samples FILE [--dry-run]`: the corrections CSV from the command line."""
from pathlib import Path

import click
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
        raise click.ClickException(f"{file} is not UTF-8 text.") from None
    try:
        with unit_of_work():
            result = corrections.correct_samples(system_actor("cli"), text, dry_run=dry_run)
    except ImportRejected as exc:
        click.echo(f"{file.name}: nothing corrected; {len(exc.details)} bad row(s):", err=True)
        for entry in exc.details:
            click.echo(f"  line {entry['line']}: {'; '.join(entry['errors'])}", err=True)
        raise SystemExit(1)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for row in result["rows"]:
        where = f"line {row['line']}" + (f", with {row['cascaded_from']}" if row["cascaded_from"] else "")
        click.echo(f"{row['barcode']} ({where}): {row['summary']}, reason: {row['reason']}")
    if dry_run:
        click.echo(f"Dry run: {result['count']} record(s) would be corrected; nothing was changed.")
    else:
        click.echo(f"Corrected {result['count']} record(s) from {file.name}.")
