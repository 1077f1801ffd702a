"""`biobank monitor check` and `biobank monitor import`, and the evacuation plan's site boundary."""
from datetime import timedelta

from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.monitoring import evacuation, service
from biobank.storage import service as storage

from .conftest import reading


def test_monitor_check_opens_silent_alarms(runner, make, tank):
    service.record_readings(make.actor("technician"), tank.id, [reading(90)])
    db.session.commit()
    first = runner.invoke(args=["monitor", "check"])
    assert first.exit_code == 0, first.output
    assert "1 silent-sensor alarm(s) opened." in first.output and "no reading for 90 minutes" in first.output
    again = runner.invoke(args=["monitor", "check"])
    assert "0 silent-sensor alarm(s) opened." in again.output


def test_monitor_import_a_logger_file(runner, make, tank, tmp_path):
    base = utcnow().replace(microsecond=0) - timedelta(hours=1)
    good = tmp_path / "logger.csv"
    good.write_text("timestamp,temperature,level\n" + "".join(
        f"{(base + timedelta(minutes=m)).isoformat()}Z,{-120 if m == 3 else -190},{60}\n" for m in range(10)))
    result = runner.invoke(args=["monitor", "import", str(good), "--container", tank.barcode, "--sensor", "L1"])
    assert result.exit_code == 0, result.output
    assert "Imported 10 reading(s)" in result.output and "1 alarm(s) opened" in result.output
    refused = runner.invoke(args=["monitor", "import", str(good), "--container", tank.barcode, "--sensor", "L1"])
    assert refused.exit_code == 1 and "line 2:" in refused.output and "already stored" in refused.output
    unknown = runner.invoke(args=["monitor", "import", str(good), "--container", "NO-SUCH", "--sensor", "L1"])
    assert unknown.exit_code == 1 and "NO-SUCH" in unknown.output


def test_the_plan_stays_at_the_tanks_site(make):
    admin = make.admin
    here = storage.create_container(admin, name="Tashkent", kind="site")
    there = storage.create_container(admin, name="Samarkand", kind="site")
    db.session.commit()
    failing = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="T-fail", parent_id=here.id)
    local = make.tank(racks=1, boxes_per_rack=1, rows=1, cols=1, name="T-local", parent_id=here.id)
    make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="T-far", parent_id=there.id)
    (source,) = make.boxes_of(failing)
    for position in ("A1", "A2"):
        make.sample(f"ST-{position}", box=source, position=position)
    plan = evacuation.evacuation_plan(make.actor("technician"), failing.id)
    assert plan["site"]["path"] == "Tashkent"
    assert [(m["barcode"], m["to"]) for m in plan["moves"]] == [("ST-A1", f"{make.boxes_of(local)[0].path} / A1")]
    assert [u["barcode"] for u in plan["unplaced"]] == ["ST-A2"]      # Samarkand's free space is not used
