"""A data logger's CSV export -> readings as the HTTP API takes them.

Loggers name their columns differently; the header is matched by the usual names:
time (`at`, `time`, `timestamp`, `datetime`, `date_time`), temperature (`temperature_c`,
`temperature`, `temp`, `temp_c`), level (`ln2_level`, `level`, `level_pct`, `level_cm`),
sensor (`sensor`, `probe`, `channel`). A file without a sensor column takes the sensor
name given with it. Comma or semicolon separated; UTF-8 (with or without BOM).
"""
import csv
import io

from flask_babel import gettext as _

from ..core.csv_input import checked
from ..core.errors import InvalidInput

ALIASES = {
    "at": ("at", "time", "timestamp", "datetime", "date_time", "date/time", "time_utc"),
    "temperature_c": ("temperature_c", "temperature", "temp", "temp_c", "temperature (°c)", "°c"),
    "ln2_level": ("ln2_level", "level", "level_pct", "level_cm", "ln2", "level (%)"),
    "sensor": ("sensor", "probe", "channel", "sensor_id"),
}
MAX_BYTES = 20 * 1024 * 1024


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    found = {}
    for field, aliases in ALIASES.items():
        for alias in aliases:
            if alias in names:
                found[field] = names.index(alias)
                break
    return found


def parse(data: bytes, default_sensor: str | None = None) -> list[dict]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(_("The logger file is larger than 20 MB; split it."), code="too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The logger file is not UTF-8 text."), code="invalid_file") from None
    lines = text.splitlines()
    if not lines:
        raise InvalidInput(_("The logger file is empty."), code="no_readings")
    dialect = csv.excel
    if lines[0].count(";") > lines[0].count(","):
        dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
    rows = list(checked(csv.reader(io.StringIO(text), dialect)))
    columns = _columns(rows[0])
    if "at" not in columns or not ({"temperature_c", "ln2_level"} & set(columns)):
        raise InvalidInput(_("The first line names the columns: a time (at/time/timestamp) and temperature_c "
                             "and/or ln2_level, optionally sensor."), code="invalid_header")
    sensor = (default_sensor or "").strip() or None
    if "sensor" not in columns and not sensor:
        raise InvalidInput(_("The file has no sensor column: say which sensor it comes from."),
                           code="sensor_required")
    items = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        item = {field: (row[index].strip() if index < len(row) else "") for field, index in columns.items()}
        item["line"] = line
        if not item.get("sensor"):
            item["sensor"] = sensor
        items.append(item)
    if not items:
        raise InvalidInput(_("The logger file has a header but no readings."), code="no_readings")
    return items
