"""Readings, limits and alarms through the services, on both databases."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from biobank.core.errors import InvalidInput, InvalidTransition, NotFound, NotPermitted
from biobank.core.time import utcnow
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.monitoring import service
from biobank.monitoring.models import Alarm, Reading

from .conftest import at, reading


def _count(model, *where):
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _events(action):
    return _count(CustodyEvent, CustodyEvent.action == action)


def test_readings_are_stored_and_a_bad_one_refuses_the_batch(make, tank):
    actor = make.actor("technician")
    stored = reading(1, level=80.0)
    result = service.record_readings(actor, tank.id, [reading(3), reading(2), stored])
    db.session.commit()
    assert result.accepted == 3 and _count(Reading) == 3

    batch = [reading(0.5), {"at": at(0.4), "sensor": "probe-1", "temperature_c": -400},
             {"at": at(-60), "sensor": "probe-1", "temperature_c": -190}, dict(stored),
             {"at": at(0.3), "sensor": "probe-1"}, {"at": "yesterday", "sensor": "p", "temperature_c": 1}]
    with pytest.raises(InvalidInput) as refused:
        service.record_readings(actor, tank.id, batch)
    db.session.rollback()
    reasons = {p["index"]: (p["code"], p["reason"]) for p in refused.value.details}
    assert reasons[1][0] == "impossible_value" and "-400" in reasons[1][1]
    assert reasons[2][0] == "future_reading" and "future" in reasons[2][1]
    assert reasons[3][0] == "duplicate_reading" and "already stored" in reasons[3][1]
    assert reasons[4][0] == "invalid_reading"
    assert reasons[5][0] == "invalid_time"
    assert 0 not in reasons
    assert _count(Reading) == 3          # nothing of the refused batch was stored


def test_duplicates_within_a_batch_and_skip_duplicates(make, tank):
    actor = make.actor("technician")
    same = reading(5)
    with pytest.raises(InvalidInput) as refused:
        service.record_readings(actor, tank.id, [same, dict(same)])
    db.session.rollback()
    assert refused.value.details[0]["index"] == 1 and refused.value.code == "duplicate_reading"
    service.record_readings(actor, tank.id, [same])
    db.session.commit()
    again = service.record_readings(actor, tank.id, [same, reading(4)], skip_duplicates=True)
    db.session.commit()
    assert again.accepted == 1 and [s["index"] for s in again.skipped_duplicates] == [0]
    assert _count(Reading) == 2


def test_the_database_refuses_a_second_copy_of_a_reading(make, tank):
    """The unique constraint, not only the code: container + sensor + time."""
    when = utcnow().replace(microsecond=0)
    db.session.add(Reading(container_id=tank.id, at=when, sensor="p", temperature_c=-190, source="http"))
    db.session.commit()
    db.session.add(Reading(container_id=tank.id, at=when, sensor="p", temperature_c=-180, source="mqtt"))
    with pytest.raises(Exception) as error:
        db.session.commit()
    assert "unique" in str(error.value).lower()
    db.session.rollback()


def test_unknown_container_and_roles(make, tank):
    with pytest.raises(NotFound):
        service.record_readings(make.actor("technician"), 999999, [reading(1)])
    with pytest.raises(NotPermitted):
        service.record_readings(make.actor("researcher"), tank.id, [reading(1)])


def test_an_excursion_opens_one_alarm_that_closes_after_acknowledgement_and_recovery(make, tank):
    tech = make.actor("technician")
    # LN2 vapour default: highest -135 °C. Five warm readings in two batches: one alarm.
    first = service.record_readings(tech, tank.id, [reading(10), reading(9, -130), reading(8, -120)])
    second = service.record_readings(tech, tank.id, [reading(7, -110), reading(6, -125)])
    db.session.commit()
    assert len(first.alarms_opened) == 1 and second.alarms_opened == []
    alarm = db.session.execute(select(Alarm)).scalar_one()
    assert alarm.kind == "temperature" and alarm.is_open and alarm.worst_value == -110
    assert "-130" in alarm.message and "-135" in alarm.message
    assert _events("alarm.opened") == 1

    with pytest.raises(InvalidInput) as no_note:
        service.acknowledge_alarm(tech, alarm.id, note="  ")
    assert no_note.value.code == "note_required"
    with pytest.raises(NotPermitted):
        service.acknowledge_alarm(make.actor("researcher"), alarm.id, note="seen")
    service.acknowledge_alarm(tech, alarm.id, note="Lid was open; closed it")
    db.session.commit()
    assert alarm.is_open, "still out of range: acknowledged but not closed"
    with pytest.raises(InvalidTransition):
        service.acknowledge_alarm(tech, alarm.id, note="again")
    db.session.rollback()

    back = service.record_readings(tech, tank.id, [reading(5, -150), reading(4, -190)])
    db.session.commit()
    assert [a.id for a in back.alarms_closed] == [alarm.id]
    db.session.refresh(alarm)
    assert alarm.closed_at is not None and alarm.acknowledged_by == make.actor("technician").username
    assert (_events("alarm.opened"), _events("alarm.acknowledged"), _events("alarm.closed")) == (1, 1, 1)
    assert custody.verify().ok

    again = service.record_readings(tech, tank.id, [reading(3, -100)])
    db.session.commit()
    assert len(again.alarms_opened) == 1 and again.alarms_opened[0].id != alarm.id


def test_back_in_range_before_acknowledgement_closes_on_acknowledgement(make, tank):
    tech = make.actor("manager")
    service.record_readings(tech, tank.id, [reading(10, -100), reading(9, -190)])
    db.session.commit()
    alarm = db.session.execute(select(Alarm)).scalar_one()
    assert alarm.is_open and alarm.in_range
    service.acknowledge_alarm(tech, alarm.id, note="Refilled; back to -190")
    db.session.commit()
    assert alarm.closed_at is not None


def test_low_level_opens_a_level_alarm_next_to_a_temperature_alarm(make, tank):
    tech = make.actor("technician")
    result = service.record_readings(tech, tank.id, [reading(3, -100, level=5.0), reading(2, -100, level=4.0)])
    db.session.commit()
    assert sorted(a.kind for a in result.alarms_opened) == ["level", "temperature"]
    level = next(a for a in result.alarms_opened if a.kind == "level")
    assert level.worst_value == 4.0


def test_limits_are_editable_by_managers_and_default_per_class(make, tank):
    from biobank.monitoring import queries
    rules = queries.limits_of(tank)
    assert rules.max_temperature_c == -135.0 and "max_temperature_c" in rules.defaults
    with pytest.raises(NotPermitted):
        service.set_limits(make.actor("technician"), tank.id, max_temperature_c=-150)
    service.set_limits(make.actor("manager"), tank.id, max_temperature_c=-150, max_silence_minutes=10)
    db.session.commit()
    rules = queries.limits_of(tank)
    assert rules.max_temperature_c == -150 and rules.max_silence_minutes == 10
    assert "max_temperature_c" not in rules.defaults and _events("monitor.limits_set") == 1
    result = service.record_readings(make.actor("technician"), tank.id, [reading(1, -140)])
    assert len(result.alarms_opened) == 1      # -140 is within the default, beyond the new limit
    db.session.rollback()
    with pytest.raises(InvalidInput):
        service.set_limits(make.actor("manager"), tank.id, min_temperature_c=-100)   # above the highest
    service.set_limits(make.actor("manager"), tank.id, max_temperature_c=None)
    assert queries.limits_of(tank).max_temperature_c == -135.0


def test_a_silent_sensor_opens_one_alarm_and_a_reading_ends_it(make, tank):
    tech = make.actor("technician")
    service.record_readings(tech, tank.id, [reading(45)])   # LN2 default: 30 minutes of silence allowed
    db.session.commit()
    opened = service.check_silence()
    db.session.commit()
    assert len(opened) == 1 and opened[0].kind == "silent" and "no reading for 45 minutes" in opened[0].message
    assert service.check_silence() == []                    # still one alarm, not one per check
    db.session.commit()
    service.acknowledge_alarm(tech, opened[0].id, note="Gateway rebooted")
    db.session.commit()
    assert opened[0].is_open
    result = service.record_readings(tech, tank.id, [reading(0)])
    db.session.commit()
    assert [a.kind for a in result.alarms_closed] == ["silent"]
    assert service.check_silence() == []


def test_tank_log_refills_and_maintenance(make, tank):
    from biobank.monitoring import queries
    tech = make.actor("technician")
    entry = service.record_tank_work(tech, tank.id, kind="refill", litres="45.5", note="weekly")
    service.record_tank_work(tech, tank.id, kind="maintenance", note="Lid gasket replaced", at=at(60))
    db.session.commit()
    assert entry.litres == 45.5 and entry.performed_by == tech.username
    with pytest.raises(InvalidInput) as missing:
        service.record_tank_work(tech, tank.id, kind="refill")
    assert missing.value.code == "litres_required"
    with pytest.raises(InvalidInput):
        service.record_tank_work(tech, tank.id, kind="maintenance")
    with pytest.raises(InvalidInput):
        service.record_tank_work(tech, tank.id, kind="refill", litres=5, at=at(-120))
    with pytest.raises(NotPermitted):
        service.record_tank_work(make.actor("researcher"), tank.id, kind="refill", litres=5)
    db.session.rollback()
    log = queries.tank_log(tech, tank.id)
    assert [e.kind for e in log] == ["refill", "maintenance"]
    assert _events("tank.refilled") == 1 and _events("tank.maintained") == 1


def test_chart_series_keeps_the_extremes_of_each_bucket(make, tank):
    from biobank.monitoring import queries
    tech = make.actor("technician")
    base = utcnow().replace(microsecond=0) - timedelta(hours=6)
    items = [{"at": (base + timedelta(minutes=m)).isoformat() + "Z", "sensor": "p",
              "temperature_c": -190.0 + (30 if m == 200 else 0)} for m in range(360)]
    service.record_readings(tech, tank.id, items)
    db.session.commit()
    series = queries.chart_series(tank.id, base, base + timedelta(hours=6), buckets=36)
    assert len(series) == 36 and sum(s["count"] for s in series) == 360
    assert max(s["t_max"] for s in series) == -160.0    # the one warm minute survives downsampling
    assert min(s["t_min"] for s in series) == -190.0
    rows = queries.readings(tech, tank.id, since=base.isoformat(), until=(base + timedelta(minutes=10)).isoformat())
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows) and len(rows) == 11


def test_long_charts_from_hourly_extremes_match_the_readings(make, tank):
    """Buckets of an hour or more read the hourly extremes; the figures are those of the readings."""
    from biobank.monitoring import queries
    tech = make.actor("technician")
    base = utcnow().replace(second=0, microsecond=0) - timedelta(days=3)
    items = [{"at": (base + timedelta(minutes=m)).isoformat() + "Z", "sensor": "p",
              "temperature_c": -190.0 + (50 if m == 1234 else 0), "ln2_level": 80.0 - m / 100}
             for m in range(0, 3 * 1440, 2)]
    service.record_readings(tech, tank.id, items[:1000])
    service.record_readings(tech, tank.id, items[1000:])
    # a second sensor in hours already folded: level only, no temperature
    service.record_readings(tech, tank.id, [{"at": (base + timedelta(minutes=m)).isoformat() + "Z",
                                             "sensor": "q", "ln2_level": 5.0 if m == 601 else 50.0}
                                            for m in range(1, 1440, 60)])
    db.session.commit()
    start, end = base + timedelta(minutes=7), base + timedelta(days=3)
    series = queries.chart_series(tank.id, start, end, buckets=36)         # 2-hour buckets
    assert sum(s["count"] for s in series) == len(items) - 4 + 23          # from minute 7 on
    assert max(s["t_max"] for s in series) == -140.0
    assert min(s["t_min"] for s in series) == -190.0
    warm = [s for s in series if s["t_max"] == -140.0]
    assert len(warm) == 1 and abs(warm[0]["bucket"] - (1234 - 7) // 120) <= 1
    assert min(s["l_min"] for s in series) == 5.0
    fine = queries.chart_series(tank.id, start, end, buckets=36 * 8)       # 15-minute buckets: the readings
    assert sum(s["count"] for s in fine) == sum(s["count"] for s in series)
    assert max(s["t_max"] for s in fine) == -140.0 and min(s["l_min"] for s in fine) == 5.0


def test_a_chart_through_now_reads_the_running_hour_from_its_extremes(make, tank):
    """A period that ends now takes the hour now running from its extremes so far: begun on the
    hour, the chart reads the hourly extremes alone, and its figures are those of the readings."""
    from biobank.monitoring import queries
    tech = make.actor("technician")
    now = utcnow().replace(microsecond=0)
    base = now.replace(minute=0, second=0) - timedelta(days=20)
    items = [{"at": (base + timedelta(minutes=m)).isoformat() + "Z", "sensor": "p",
              "temperature_c": -190.0 + (40 if m == 700 else 0) + (45 if m == 20 * 1440 + now.minute // 2 else 0)}
             for m in range(0, 20 * 1440 + now.minute + 1)]
    for i in range(0, len(items), 1000):
        service.record_readings(tech, tank.id, items[i:i + 1000])
    db.session.commit()
    end = utcnow()


    def raw_reads(**through_now):
        statements = []
        listen = lambda conn, cursor, statement, *args: statements.append(statement)   # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            series = queries.chart_series(tank.id, base, end, buckets=120, **through_now)   # 4-hour steps
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        return series, [s for s in statements if re.search(r"FROM monitor_reading\b(?!_hour)", s)]

    series, raw = raw_reads(through_now=True)
    assert raw == []                                                  # the hourly extremes alone
    exact, raw = raw_reads()
    assert len(raw) == 1                                              # the hour now running, from its readings
    assert sum(s["count"] for s in series) == len(items) == sum(s["count"] for s in exact)
    assert max(s["t_max"] for s in series) == -145.0                   # this hour's warm minute is drawn
    assert [s["t_max"] for s in series].count(-150.0) == 1
