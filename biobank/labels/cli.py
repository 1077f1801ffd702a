"""`biobank labels ...`: print labels to a file or straight to a Zebra printer."""
import socket
from pathlib import Path

import click
from flask_babel import gettext as _
from flask.cli import AppGroup

from ..core.actor import system_actor
from ..core.db import unit_of_work
from ..core.errors import DomainError
from . import service

labels_cli = AppGroup("labels", help="Print labels.")

RAW_PORT = 9100   # Zebra (and most label printers): raw data on TCP 9100


def parse_printer(address: str) -> tuple[str, int]:
    """HOST, HOST:PORT or [IPv6]:PORT -> (host, port); the port defaults to 9100."""
    host, port = address.strip(), RAW_PORT
    if host.startswith("["):
        host, _bracket, rest = host[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else port
    elif host.count(":") == 1:
        host, _colon, text = host.partition(":")
        if not text.isdigit():
            raise click.BadParameter(_("'%(address)s' is not HOST:PORT.", address=address), param_hint="--printer")
        port = int(text)
    if not host or not 0 < port < 65536:
        raise click.BadParameter(_("'%(address)s' is not HOST:PORT.", address=address), param_hint="--printer")
    return host, port


def send_to_printer(address: str, data: bytes, timeout: float = 15.0) -> None:
    """Send raw ZPL over TCP, as a Zebra printer's port 9100 expects it."""
    host, port = parse_printer(address)
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)


def read_barcodes(handle) -> list[str]:
    """One barcode per line; a CSV's first column (a header line starting 'barcode' is skipped); # comments."""
    barcodes = []
    for number, line in enumerate(handle, start=1):
        value = line.split(",", 1)[0].strip().strip('"')
        if not value or value.startswith("#") or (number == 1 and value.lower() == "barcode"):
            continue
        barcodes.append(value)
    return barcodes


@labels_cli.command("print")
@click.option("--sample", "samples", multiple=True, metavar="BARCODE", help="A sample's label (repeatable).")
@click.option("--box", "box_id", type=int, metavar="ID", help="Labels of every sample in the box, in position order.")
@click.option("--box-label", "container_id", type=int, metavar="ID", help="The label of the box (container) itself.")
@click.option("--barcodes", "barcode_file", type=click.File("r", encoding="utf-8-sig"), metavar="FILE",
              help="Sample barcodes, one a line (or an import CSV: its first column), in that order.")
@click.option("--format", "fmt", type=click.Choice(service.FORMATS), default="zpl", show_default=True)
@click.option("--dpi", type=int, help="Printer resolution: 203, 300 or 600 [203 for ZPL, 600 otherwise].")
@click.option("--sheet", help="PDF: sheet layout of labels/ (a4, letter) or 'label' for one label per page.")
@click.option("--skip", type=int, default=0, help="PDF: labels already used on the first sheet.")
@click.option("--template", help="Label template of labels/ (default: cryovial for samples, box for boxes).")
@click.option("--reason", help="Why (kept in the custody events), e.g. 'label damaged'.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the file here ('-' for standard output).")
@click.option("--printer", metavar="HOST[:PORT]", help="Send the ZPL to a network printer (raw TCP, port 9100).")
def print_labels(samples, box_id, container_id, barcode_file, fmt, dpi, sheet, skip, template, reason, output,
                 printer):
    """Print labels: one custody event per label.

    \b
    biobank labels print --box 12 --format zpl -o box12.zpl
    biobank labels print --sample UZB-000001 --printer 10.0.0.50:9100
    biobank labels print --barcodes batch.csv --format pdf --sheet letter -o batch.pdf
    """
    chosen = [name for name, given in (("--sample", samples), ("--box", box_id is not None),
                                       ("--box-label", container_id is not None), ("--barcodes", barcode_file)) if given]
    if len(chosen) != 1:
        raise click.UsageError(_("Say what to print: one of --sample, --box, --box-label or --barcodes."))
    if not output and not printer:
        raise click.UsageError(_("Say where to: -o FILE and/or --printer HOST:9100."))
    if printer:
        parse_printer(printer)
        if fmt != "zpl":
            raise click.UsageError(_("--printer sends ZPL; use --format zpl (the default)."))
    options = dict(format=fmt, dpi=dpi, sheet=sheet, skip=skip, template=template, reason=reason)
    actor = system_actor("cli")
    wrote = target = None
    try:
        with unit_of_work():
            if samples or barcode_file:
                barcodes = list(samples) or read_barcodes(barcode_file)
                result = service.print_sample_labels(actor, barcodes, **options)
            elif box_id is not None:
                result = service.print_box_labels(actor, box_id, **options)
            else:
                result = service.print_container_label(actor, container_id, **options)
            target = output
            if output and str(output) == "-":
                click.get_binary_stream("stdout").write(result.content)
            elif output:
                output.write_bytes(result.content)
                wrote = output
            if printer:
                target = _("printer %(printer)s", printer=printer)
                send_to_printer(printer, result.content)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    except OSError as exc:
        if wrote is not None:
            wrote.unlink(missing_ok=True)
        raise click.ClickException(_("Could not write to %(target)s: %(problem)s. Nothing was printed or recorded.",
                                     target=target, problem=exc)) from None
    values = {"num": result.count, "format": fmt.upper(), "file": output, "printer": printer}
    if wrote and printer:
        done = _("%(num)d label(s) written to %(file)s and sent to %(printer)s (%(format)s); %(num)d custody "
                 "event(s) recorded.", **values)
    elif printer:
        done = _("%(num)d label(s) sent to %(printer)s (%(format)s); %(num)d custody event(s) recorded.", **values)
    elif wrote:
        done = _("%(num)d label(s) written to %(file)s (%(format)s); %(num)d custody event(s) recorded.", **values)
    else:
        done = _("%(num)d label(s) written (%(format)s); %(num)d custody event(s) recorded.", **values)
    click.echo(done, err=str(output) == "-")


@labels_cli.command("limits")
@click.option("--template", help="One label template (default: all in labels/).")
def show_limits(template):
    """The longest barcode each label template takes at each printer resolution."""
    try:
        rows = service.limits(template)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("Templates in %(directory)s", directory=service.labels_dir()))
    click.echo(f"{'template':<12} {'dpi':>4}  {'Code 128 module':>15}  {'modules':>7}  {'Data Matrix module':>18}  "
               f"{'longest barcode':>15}")
    for row in rows:
        click.echo(f"{row['template']:<12} {row['dpi']:>4}  {row['code128_min_module_mm']:>12.3f} mm  "
                   f"{row['code128_max_modules']:>7}  {row['datamatrix_min_module_mm']:>15.3f} mm  "
                   f"{row['max_length']:>9} chars")
