"""`biobank monitor`: the MQTT consumer (long-running), `biobank monitor check` (silent sensors)
and `biobank monitor import FILE` (a data logger's CSV export)."""
import logging
import signal
from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _
from flask.cli import AppGroup, with_appcontext

from ..core.db import unit_of_work
from ..core.errors import DomainError
from ..storage.service import container_by_barcode
from . import readings_csv, service
from .mqtt import ReadingConsumer


@click.group("monitor", cls=AppGroup, invoke_without_command=True)
@click.option("--host", envvar="BIOBANK_MQTT_HOST", default="127.0.0.1", show_default=True, help="MQTT broker")
@click.option("--port", envvar="BIOBANK_MQTT_PORT", default=1883, type=int, show_default=True)
@click.option("--client-id", envvar="BIOBANK_MQTT_CLIENT_ID", default="biobank-monitor", show_default=True,
              help="fixed, so the broker keeps the session (and queued readings) across restarts")
@click.option("--username", envvar="BIOBANK_MQTT_USERNAME", default=None)
@click.option("--password", envvar="BIOBANK_MQTT_PASSWORD", default=None)
@click.option("--check-every", default=60, type=float, show_default=True,
              help="seconds between silent-sensor checks")
@click.pass_context
@with_appcontext
def monitor_cli(ctx, host, port, client_id, username, password, check_every):
    """Take readings from the sensors' MQTT broker (topic biobank/readings/<container barcode>)."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    consumer = ReadingConsumer(current_app._get_current_object(), host=host, port=port, client_id=client_id,
                               username=username, password=password, check_every=check_every)
    signal.signal(signal.SIGTERM, lambda *_: consumer.stopping.set())
    click.echo(_("Consuming biobank/readings/+ from %(host)s:%(port)s as %(client)s; Ctrl-C stops.", host=host,
                 port=port, client=client_id))
    consumer.run_forever()


@monitor_cli.command("check")
def check_command():
    """Open an alarm for every watched container whose sensor has gone silent."""
    with unit_of_work():
        opened = service.check_silence(service.MONITOR)
        lines = [_("alarm %(id)s: %(message)s", id=alarm.id, message=alarm.message) for alarm in opened]
    for line in lines:
        click.echo(line)
    click.echo(_("%(num)s silent-sensor alarm(s) opened.", num=len(lines)))


@monitor_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--container", "barcode", required=True, help="barcode of the tank the logger watches")
@click.option("--sensor", default=None, help="sensor name when the file has no sensor column")
@click.option("--skip-duplicates", is_flag=True, help="skip readings already stored instead of refusing the file")
def import_command(file, barcode, sensor, skip_duplicates):
    """Import a data logger's CSV export; all or nothing."""
    try:
        with unit_of_work():
            container = container_by_barcode(barcode)
            items = readings_csv.parse(file.read_bytes(), default_sensor=sensor)
            result = service.record_readings(service.MONITOR, container.id, items, source="csv",
                                             skip_duplicates=skip_duplicates)
            values = {"num": result.accepted, "path": container.path, "skipped": len(result.skipped_duplicates),
                      "alarms": len(result.alarms_opened)}
            summary = _("Imported %(num)s reading(s) into %(path)s, skipped %(skipped)s already stored; "
                        "%(alarms)s alarm(s) opened.", **values) if result.skipped_duplicates else \
                _("Imported %(num)s reading(s) into %(path)s; %(alarms)s alarm(s) opened.", **values)
    except DomainError as exc:
        for problem in (exc.details or [])[:50] if isinstance(exc.details, list) else []:
            click.echo(_("line %(line)s: %(reason)s", line=problem.get("line", problem.get("index")),
                         reason=problem["reason"]), err=True)
        raise click.ClickException(exc.message) from None
    click.echo(summary)
