"""Monitoring services: readings in (HTTP, MQTT, CSV all call record_readings), limits,
alarms (opened by readings or by the silence check, acknowledged by staff, closed when
acknowledged and back in range), and the tank log. They never commit."""
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _, ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.actor import Actor
from ..core.bulk import bulk_insert
from ..core.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from ..core.permissions import require, require_at
from ..core.time import to_naive_utc, utcnow
from ..custody import service as custody
from ..extensions import db
from ..mail.outbox import notify
from ..storage.models import Container
from ..storage.service import get_container
from . import hours
from . import limits as limit_rules
from .models import LOG_KINDS, Alarm, Monitored, Reading, TankLogEntry

# Who detects: alarms opened by readings or by the silence check are the monitor's doing.
MONITOR = Actor(username="monitor", role="admin", via="cli")

MAX_BATCH = 10_000
FUTURE_TOLERANCE = timedelta(minutes=5)     # sensor clocks drift a little
EARLIEST = datetime(2000, 1, 1)             # a logger whose clock reset to 1970 is wrong, not old
TEMPERATURE_RANGE = (-273.15, 150.0)        # below absolute zero or above boiling-hot: a broken probe
LEVEL_RANGE = (0.0, 1000.0)                 # % or cm; never negative
SOURCES = ("http", "mqtt", "csv")


@dataclass
class IngestResult:
    container: Container
    readings: list = field(default_factory=list)        # stored rows as dicts
    skipped_duplicates: list = field(default_factory=list)
    alarms_opened: list = field(default_factory=list)
    alarms_closed: list = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.readings)


# -- readings ---------------------------------------------------------------
def _number(value, name: str, bounds: tuple) -> tuple[float | None, str | None]:
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        return None, _("%(name)s must be a number", name=name)
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None, _("%(name)s must be a number, not %(value)s", name=name, value=repr(value[:20]))
    if not isinstance(value, (int, float)):
        return None, _("%(name)s must be a number", name=name)
    value = float(value)
    if not math.isfinite(value):
        return None, _("%(name)s must be a finite number", name=name)
    low, high = bounds
    if not low <= value <= high:
        return None, _("%(name)s %(value)s is impossible (a sensor reads %(low)s to %(high)s)", name=name,
                       value=f"{value:g}", low=f"{low:g}", high=f"{high:g}")
    return value, None


def parse_time(value, *, of_reading: bool = True) -> datetime:
    """ISO 8601 (with Z or an offset; no offset means UTC) -> naive UTC. The ValueError's message
    names the reading's field `at` (of_reading) or just the value."""
    if isinstance(value, datetime):
        return to_naive_utc(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("at is required: the time of the reading (ISO 8601)") if of_reading
                         else _("is required: the time of the reading (ISO 8601)"))
    text = value.strip()
    try:
        return to_naive_utc(datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text))
    except ValueError:
        raise ValueError(_("at %(value)s is not a time (use ISO 8601, e.g. 2026-03-01T14:05:00Z)",
                           value=repr(text[:40])) if of_reading else
                         _("%(value)s is not a time (use ISO 8601, e.g. 2026-03-01T14:05:00Z)",
                           value=repr(text[:40]))) from None


def check_reading(item, now: datetime) -> tuple[dict | None, str | None, str | None]:
    """One reading as sent -> (clean values, None, None) or (None, reason, code)."""
    if not isinstance(item, dict):
        return None, _("a reading is an object {at, temperature_c?, ln2_level?, sensor}"), "invalid_reading"
    try:
        at = parse_time(item.get("at"))
    except (ValueError, OverflowError) as exc:
        return None, str(exc), "invalid_time"
    if at > now + FUTURE_TOLERANCE:
        return None, _("at %(time)sZ is in the future", time=at.isoformat()), "future_reading"
    if at < EARLIEST:
        return None, _("at %(time)sZ is before %(year)s: the logger's clock is wrong", time=at.isoformat(),
                       year=EARLIEST.year), "invalid_time"
    sensor = item.get("sensor")
    if not isinstance(sensor, str) or not sensor.strip():
        return None, _("sensor is required: the name of the probe"), "invalid_reading"
    sensor = sensor.strip()
    if len(sensor) > 64 or not sensor.isprintable():
        return None, _("sensor is a name of at most 64 printable characters"), "invalid_reading"
    temperature, problem = _number(item.get("temperature_c"), "temperature_c", TEMPERATURE_RANGE)
    if problem:
        return None, problem, "impossible_value"
    level, problem = _number(item.get("ln2_level"), "ln2_level", LEVEL_RANGE)
    if problem:
        return None, problem, "impossible_value"
    if temperature is None and level is None:
        return None, _("a reading needs temperature_c or ln2_level"), "invalid_reading"
    return {"at": at, "sensor": sensor, "temperature_c": temperature, "ln2_level": level}, None, None


def _locked_container(container_id) -> Container:
    """The container, locked: readings of one container are taken one batch at a time, so two
    writers cannot both open the same alarm or both store a reading."""
    if not isinstance(container_id, int) or isinstance(container_id, bool):
        raise NotFound(_("There is no container %(id)s.", id=container_id), code="unknown_container")
    container = db.session.execute(select(Container).where(Container.id == container_id).with_for_update()
                                   ).scalar_one_or_none()
    if container is None:
        raise NotFound(_("There is no container %(id)s.", id=container_id), code="unknown_container")
    return container


def _monitored(container: Container) -> Monitored:
    row = db.session.get(Monitored, container.id)
    if row is None:
        row = Monitored(container_id=container.id)
        db.session.add(row)
    return row


def _stored_keys(container_id: int, clean: list[dict]) -> set:
    if not clean:
        return set()
    first, last = min(r["at"] for r in clean), max(r["at"] for r in clean)
    rows = db.session.execute(select(Reading.sensor, Reading.at).where(
        Reading.container_id == container_id, Reading.at >= first, Reading.at <= last))
    return {(sensor, at) for sensor, at in rows}


def record_readings(actor, container_id: int, items, *, source: str = "http", skip_duplicates: bool = False,
                    now: datetime | None = None) -> IngestResult:
    """Check every reading; refuse the whole batch (naming each bad one by its index and reason) or
    store all of it and open or close alarms. With skip_duplicates, readings already stored (a
    gateway sending again) are skipped and named instead of refusing the batch."""
    require(actor, "monitoring.ingest")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise InvalidInput(_("Send a list of readings [{at, temperature_c?, ln2_level?, sensor}, ...]."),
                           code="no_readings")
    if len(items) > MAX_BATCH:
        raise InvalidInput(_("At most %(num)s readings at once; send the rest in another batch.", num=MAX_BATCH),
                           code="too_many_readings")
    container = _locked_container(container_id)
    require_at(actor, "monitoring.ingest", container)
    now = now or utcnow()
    problems, clean, seen = [], [], {}
    for index, item in enumerate(items):
        reading, reason, code = check_reading(item, now)
        line = item.get("line") if isinstance(item, dict) else None
        if reading is None:
            problems.append(_problem(index, line, code, reason))
            continue
        key = (reading["sensor"], reading["at"])
        if key in seen:
            problems.append(_problem(index, line, "duplicate_reading",
                                     _("the same sensor and time as reading %(index)s", index=seen[key])))
            continue
        seen[key] = index
        reading["index"], reading["line"] = index, line
        clean.append(reading)
    stored = _stored_keys(container.id, clean)
    skipped = []
    for reading in clean:
        if (reading["sensor"], reading["at"]) in stored:
            entry = _problem(reading["index"], reading["line"], "duplicate_reading",
                             _("%(sensor)s at %(time)sZ is already stored", sensor=reading["sensor"],
                               time=reading["at"].isoformat()))
            (skipped if skip_duplicates else problems).append(entry)
    if problems:
        problems.sort(key=lambda p: p["index"])
        first = problems[0]
        where = _("line %(line)s", line=first["line"]) if "line" in first \
            else _("reading %(index)s", index=first["index"])
        raise InvalidInput(ngettext("%(num)d reading was refused, nothing was stored; %(where)s: %(reason)s.",
                                    "%(num)d readings were refused, nothing was stored; %(where)s: %(reason)s.",
                                    len(problems), where=where, reason=first["reason"]),
                           code=_batch_code(problems), details=problems)
    skipped_index = {s["index"] for s in skipped}
    rows = [{"container_id": container.id, "at": r["at"], "sensor": r["sensor"],
             "temperature_c": r["temperature_c"], "ln2_level": r["ln2_level"], "source": source,
             "received_at": now} for r in clean if r["index"] not in skipped_index]
    result = IngestResult(container=container, readings=rows, skipped_duplicates=skipped)
    if not rows:
        return result
    try:
        bulk_insert(Reading.__table__, rows)
    except IntegrityError:  # the unique constraint is the last word on duplicates
        raise Conflict(_("A reading of this batch is already stored (same container, sensor and time); "
                         "nothing was stored."), code="duplicate_reading") from None
    hours.add(container.id, rows)
    watch = _monitored(container)
    newest = max(r["at"] for r in rows)
    if watch.last_reading_at is None or newest > watch.last_reading_at:
        watch.last_reading_at = newest
    _evaluate(container, watch, sorted(rows, key=lambda r: r["at"]), result)
    return result


def _problem(index: int, line: int | None, code: str, reason: str) -> dict:
    """What was wrong with one reading: its index in the batch (and line of a file)."""
    entry = {"index": index, "code": code, "reason": reason}
    if line is not None:
        entry["line"] = line
    return entry


def _batch_code(problems: list) -> str:
    codes = {p["code"] for p in problems}
    return codes.pop() if len(codes) == 1 else "invalid_readings"


# -- alarms -----------------------------------------------------------------
def open_alarms_of(container_id: int) -> dict[str, Alarm]:
    alarms = db.session.execute(select(Alarm).where(Alarm.container_id == container_id,
                                                    Alarm.closed_at.is_(None))).scalars()
    return {alarm.kind: alarm for alarm in alarms}


def _evaluate(container: Container, watch: Monitored, rows: list[dict], result: IngestResult) -> None:
    rules = limit_rules.effective(watch, container.effective_temperature)
    open_now = open_alarms_of(container.id)
    for row in rows:
        temperature, level = row["temperature_c"], row["ln2_level"]
        if temperature is not None and (rules.max_temperature_c is not None or rules.min_temperature_c is not None):
            too_warm = rules.max_temperature_c is not None and temperature > rules.max_temperature_c
            too_cold = rules.min_temperature_c is not None and temperature < rules.min_temperature_c
            message = (_("%(path)s: %(value)s °C from %(sensor)s, above the limit of %(limit)s °C",
                         path=container.path, value=f"{temperature:g}", sensor=row["sensor"],
                         limit=f"{rules.max_temperature_c:g}") if too_warm else
                       _("%(path)s: %(value)s °C from %(sensor)s, below the limit of %(limit)s °C",
                         path=container.path, value=f"{temperature:g}", sensor=row["sensor"],
                         limit=f"{rules.min_temperature_c:g}") if too_cold else "")
            _step(container, "temperature", row, temperature, too_warm or too_cold, message, open_now, result,
                  cold=too_cold)
        if level is not None and rules.min_ln2_level is not None:
            low = level < rules.min_ln2_level
            message = (_("%(path)s: LN2 level %(value)s from %(sensor)s, below the limit of %(limit)s",
                         path=container.path, value=f"{level:g}", sensor=row["sensor"],
                         limit=f"{rules.min_ln2_level:g}") if low else "")
            _step(container, "level", row, level, low, message, open_now, result, cold=True)
        if "silent" in open_now:
            _step(container, "silent", row, None, False, "", open_now, result)


def _worse(alarm: Alarm, value: float | None, cold: bool) -> float | None:
    """The most extreme value of the excursion: the lowest for a low level or a fridge too cold."""
    if value is None or alarm.worst_value is None:
        return alarm.worst_value if value is None else value
    return min(alarm.worst_value, value) if cold else max(alarm.worst_value, value)


def _step(container, kind, row, value, out_of_range, message, open_now, result, cold=False) -> None:
    alarm = open_now.get(kind)
    if alarm is None:
        if out_of_range:
            alarm = Alarm(container_id=container.id, kind=kind, opened_at=row["at"], message=message[:400],
                          sensor=row["sensor"], first_value=value, worst_value=value, last_reading_at=row["at"],
                          in_range=False)
            db.session.add(alarm)
            db.session.flush()
            alarm_opened(MONITOR, alarm, container)
            open_now[kind] = alarm
            result.alarms_opened.append(alarm)
        return
    if out_of_range:
        alarm.worst_value = _worse(alarm, value, cold)
    if alarm.last_reading_at is not None and row["at"] < alarm.last_reading_at:
        return  # an older reading (a back-filled log) does not say how things are now
    alarm.last_reading_at = row["at"]
    alarm.in_range = not out_of_range
    if alarm.in_range and alarm.acknowledged_at is not None:
        _close(MONITOR, alarm, container, f"back in range at {row['at'].isoformat()}Z ({row['sensor']})")
        del open_now[kind]
        result.alarms_closed.append(alarm)


def alarm_opened(actor, alarm: Alarm, container: Container) -> None:
    """The one point where an alarm comes into being: its custody event is written here, and
    anything else that must happen when an alarm opens (an e-mail to the people on call) hooks in
    here, in the same transaction."""
    custody.record(actor, "alarm.opened", "alarm", alarm.id, container_id=container.id,
                   to_location=container.path, reason=alarm.message,
                   changes={"kind": [None, alarm.kind], "value": [None, alarm.first_value],
                            "opened_at": [None, alarm.opened_at.isoformat() + "Z"]})
    notify("alarm.opened", _("ALARM: %(path)s: %(kind)s", path=container.path, kind=alarm.kind),
           _("%(message)s\n\nOpened at %(time)sZ. Acknowledge it on the monitoring page once someone is on it; it "
             "closes when readings are back in range.", message=alarm.message, time=alarm.opened_at.isoformat()),
           roles=("admin", "manager", "technician"))


def _close(actor, alarm: Alarm, container: Container, why: str) -> None:
    alarm.closed_at = utcnow()
    custody.record(actor, "alarm.closed", "alarm", alarm.id, container_id=container.id,
                   to_location=container.path, reason=f"Acknowledged and {why}",
                   changes={"closed_at": [None, alarm.closed_at.isoformat() + "Z"],
                            "worst_value": [None, alarm.worst_value]})


def get_alarm(alarm_id: int, lock: bool = False) -> Alarm:
    query = select(Alarm).where(Alarm.id == alarm_id)
    if lock:
        query = query.with_for_update()
    alarm = db.session.execute(query).scalar_one_or_none()
    if alarm is None:
        raise NotFound(_("There is no alarm %(id)s.", id=alarm_id), code="unknown_alarm")
    return alarm


def acknowledge_alarm(actor, alarm_id: int, *, note: str | None) -> Alarm:
    """Someone on call has seen it and says what they did. It closes now if the readings are
    already back in range, else with the first reading that is."""
    require(actor, "alarms.acknowledge")
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Say what you found or did: a note is required to acknowledge an alarm."),
                           code="note_required")
    if len(note) > 2000:
        raise InvalidInput(_("The note is at most 2000 characters."), code="note_too_long")
    alarm = get_alarm(alarm_id, lock=True)
    if alarm.acknowledged_at is not None:
        raise InvalidTransition(_("Alarm %(id)s was already acknowledged by %(user)s.", id=alarm.id,
                                  user=alarm.acknowledged_by), code="already_acknowledged")
    container = get_container(alarm.container_id)
    require_at(actor, "alarms.acknowledge", container)
    alarm.acknowledged_by, alarm.acknowledged_at, alarm.acknowledge_note = actor.username, utcnow(), note
    custody.record(actor, "alarm.acknowledged", "alarm", alarm.id, container_id=container.id,
                   to_location=container.path, reason=note,
                   changes={"acknowledged_by": [None, actor.username]})
    if alarm.in_range:
        _close(actor, alarm, container, "back in range")
    return alarm


def check_silence(actor=MONITOR, now: datetime | None = None) -> list[Alarm]:
    """Open a silent-sensor alarm for every watched container whose newest reading is older than
    its longest allowed silence. Cheap: one row per watched container is read, and nothing is
    written unless something went silent."""
    now = now or utcnow()
    watched = db.session.execute(
        select(Monitored, Container).join(Container, Container.id == Monitored.container_id)
        .where(Monitored.last_reading_at.is_not(None))).all()
    silent = []
    for watch, container in watched:
        rules = limit_rules.effective(watch, container.effective_temperature)
        if rules.max_silence_minutes is None:
            continue
        if now - watch.last_reading_at > timedelta(minutes=rules.max_silence_minutes):
            silent.append((watch, container, rules))
    if not silent:
        return []
    open_silent = set(db.session.execute(select(Alarm.container_id).where(
        Alarm.kind == "silent", Alarm.closed_at.is_(None), Alarm.in_range.is_(False))).scalars())
    opened = []
    for watch, container, rules in silent:
        if container.id in open_silent:
            continue
        locked = _locked_container(container.id)
        alarm = open_alarms_of(locked.id).get("silent")
        if alarm is not None:      # open but the sensor had spoken again since: silent again now
            alarm.in_range = False
            continue
        minutes = int((now - watch.last_reading_at).total_seconds() // 60)
        alarm = Alarm(container_id=container.id, kind="silent", opened_at=now,
                      message=_("%(path)s: no reading for %(minutes)s minutes (limit %(limit)s); last at %(time)sZ",
                                path=container.path, minutes=minutes, limit=rules.max_silence_minutes,
                                time=watch.last_reading_at.isoformat())[:400],
                      last_reading_at=watch.last_reading_at, in_range=False)
        db.session.add(alarm)
        db.session.flush()
        alarm_opened(actor, alarm, container)
        opened.append(alarm)
    return opened


# -- limits -----------------------------------------------------------------
def set_limits(actor, container_id: int, **values) -> Monitored:
    """A manager sets (a number) or resets to the default (None) each given limit."""
    require(actor, "monitoring.limits")
    container = _locked_container(container_id)
    require_at(actor, "monitoring.limits", container)
    unknown = set(values) - set(limit_rules.LIMIT_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown limit(s): %(names)s.", names=", ".join(sorted(unknown))), code="invalid_limit")
    bounds = {"max_temperature_c": TEMPERATURE_RANGE, "min_temperature_c": TEMPERATURE_RANGE,
              "min_ln2_level": LEVEL_RANGE, "max_silence_minutes": (1, 7 * 24 * 60)}
    clean = {}
    for name, value in values.items():
        number, problem = _number(value, name, bounds[name])
        if problem:
            raise InvalidInput(problem + ".", code="invalid_limit")
        if name == "max_silence_minutes" and number is not None:
            if number != int(number):
                raise InvalidInput(_("max_silence_minutes is a whole number of minutes."), code="invalid_limit")
            number = int(number)
        clean[name] = number
    watch = _monitored(container)
    low = clean.get("min_temperature_c", watch.min_temperature_c)
    high = clean.get("max_temperature_c", watch.max_temperature_c)
    if low is not None and high is not None and low >= high:
        raise InvalidInput(_("The lowest temperature must be below the highest."), code="invalid_limit")
    before = limit_rules.effective(watch, container.effective_temperature).as_dict()
    for name, number in clean.items():
        setattr(watch, name, number)
    watch.updated_at, watch.updated_by = utcnow(), actor.username
    after = limit_rules.effective(watch, container.effective_temperature).as_dict()
    changes = {name: [before[name], after[name]] for name in limit_rules.LIMIT_FIELDS if before[name] != after[name]}
    custody.record(actor, "monitor.limits_set", "container", container.barcode, container_id=container.id,
                   to_location=container.path, changes=changes)
    return watch


# -- tank log ---------------------------------------------------------------
def record_tank_work(actor, container_id: int, *, kind: str, at=None, litres=None,
                     note: str | None = None) -> TankLogEntry:
    """An LN2 refill (litres) or a maintenance visit on a tank, by the acting user."""
    require(actor, "monitoring.record")
    if kind not in LOG_KINDS:
        raise InvalidInput(_("kind is one of %(kinds)s.", kinds=", ".join(LOG_KINDS)), code="invalid_kind")
    container = get_container(container_id)
    require_at(actor, "monitoring.record", container)
    now = utcnow()
    try:
        when = parse_time(at) if at not in (None, "") else now
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(str(exc) + ".", code="invalid_time") from None
    if when > now + FUTURE_TOLERANCE:
        raise InvalidInput(_("The time of the work is in the future."), code="future_time")
    if when < EARLIEST:
        raise InvalidInput(_("The time of the work is before %(year)s.", year=EARLIEST.year), code="invalid_time")
    amount, problem = _number(litres, "litres", (0.0, 100_000.0))
    if problem:
        raise InvalidInput(problem + ".", code="invalid_litres")
    if kind == "refill" and not amount:
        raise InvalidInput(_("How many litres of LN2 went in?"), code="litres_required")
    note = (note or "").strip() or None
    if kind == "maintenance" and not note:
        raise InvalidInput(_("Say what was done: a note is required for maintenance."), code="note_required")
    if note and len(note) > 2000:
        raise InvalidInput(_("The note is at most 2000 characters."), code="note_too_long")
    entry = TankLogEntry(container_id=container.id, kind=kind, at=when, performed_by=actor.username,
                         litres=amount, note=note)
    db.session.add(entry)
    db.session.flush()
    custody.record(actor, "tank.refilled" if kind == "refill" else "tank.maintained", "container",
                   container.barcode, container_id=container.id, to_location=container.path, reason=note,
                   changes={"litres": [None, amount], "at": [None, when.isoformat() + "Z"]})
    return entry
