"""`biobank directory export`: the MIABIS directory document as JSON or CSV."""
import json

import click
from flask.cli import AppGroup

from ..core.actor import system_actor
from ..core.errors import DomainError
from . import directory

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
