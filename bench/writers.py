"""P9 custody_appends_8_writers: 8 writer processes on one PostgreSQL database,
each appending custody events about its own samples (one event per unit of
work, committed each), all starting at the same moment; events per second over
the wall time, and the chain verified afterwards.

checkout_return_8_vs_1: the same writers check their samples out and back in
(whole state changes), 8 of them against one alone. placement_8_vs_1: writers
register new samples with automatic (compact) placement, one commit each, 8
against one; every one must be stored, and a 409 counts against it."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .common import TempDatabase, app_context, csv_rows, pg_dsn

ROOT = Path(__file__).resolve().parent.parent


def writer_main(url: str, prefix: str, samples: int, ops: int, start_at: float, mode: str = "service") -> None:
    from biobank.core.actor import system_actor
    from biobank.core.errors import Conflict
    from biobank.custody import service as custody
    from biobank.extensions import db
    from biobank.samples import service
    actor = system_actor(f"bench-{prefix}")
    conflicts: dict[str, int] = {}
    with app_context(url):
        barcodes = [f"{prefix}{i:08d}" for i in range(samples)]
        if mode != "place":  # a warm-up read of a tube it works on (placements register new ones)
            service.get_sample(barcodes[0])
        db.session.rollback()
        while time.time() < start_at:
            time.sleep(0.005)
        t0 = time.time()
        for k in range(ops):
            barcode = barcodes[(k // 2) % samples]
            if mode == "append":
                custody.record(actor, "label.printed", "sample", barcode, sample_barcode=barcode)
            elif mode == "place":
                try:
                    service.register_sample(actor, barcode=f"{prefix}-{k:07d}", sample_type="plasma",
                                            donor=f"{prefix}D{k // 3:05d}", volume="1.0", unit="mL",
                                            storage_temperature="LN2_vapor", location={"strategy": "compact"})
                except Conflict as refused:
                    db.session.rollback()
                    conflicts[refused.code] = conflicts.get(refused.code, 0) + 1
                    continue
            elif k % 2 == 0:
                service.checkout_sample(actor, barcode, reason="bench")
            else:
                service.return_sample(actor, barcode, thawed=False)
            db.session.commit()
        t1 = time.time()
    print(json.dumps({"start": t0, "end": t1, "events": ops - sum(conflicts.values()),
                      "conflicts": conflicts}))


def _checkpoint(url: str) -> None:
    """Write out what earlier benchmarks left dirty (a million COPYed rows, dropped
    databases), so their background writes do not land inside this measurement."""
    import psycopg
    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _race(url: str, writers: int, ops: int, samples_each: int, mode: str, conflicts: dict | None = None) -> float:
    """Start the writers together; events per second over the wall time of all of them (the
    409s they met are counted by code in `conflicts`)."""
    _checkpoint(url)
    start_at = time.time() + 4
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # placements register new tubes: a prefix of their own per race, so no two races share a barcode
    prefixes = [f"PL{writers}W{w}" if mode == "place" else f"W{w}X" for w in range(writers)]
    procs = [subprocess.Popen([sys.executable, "-m", "bench.writers", url, prefixes[w], str(samples_each),
                               str(ops), str(start_at), mode], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(writers)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"writer failed: {err[-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    if conflicts is not None:
        for report in reports:
            for code, count in report["conflicts"].items():
                conflicts[code] = conflicts.get(code, 0) + count
    return sum(r["events"] for r in reports) / wall


def run(writers: int, ops: int, samples_each: int = 20) -> dict:
    """The headline: appends through custody.record, one event and one commit per
    unit of work. Beside it, the same writers doing whole check-outs and returns,
    and automatic placements, each against one writer alone (and two, one per core)."""
    from sqlalchemy import func, select
    from biobank.core.actor import system_actor
    from biobank.custody import service as custody
    from biobank.extensions import db
    from biobank.samples import importer
    from biobank.samples.models import Sample
    from .common import load_demo_layout
    actor = system_actor("bench")
    with TempDatabase("postgres", "p9") as tdb:
        with app_context(tdb.url):
            load_demo_layout()
            text = "".join("".join(csv_rows(samples_each, prefix=f"W{w}X").splitlines(True)[(1 if w else 0):])
                           for w in range(writers))
            importer.import_samples(actor, text)
            db.session.commit()
        appends = _race(tdb.url, writers, ops, samples_each, "append")
        services = _race(tdb.url, writers, ops, samples_each, "service")
        service_alone = _race(tdb.url, 1, ops, samples_each, "service")
        service_two = _race(tdb.url, 2, ops, samples_each, "service")  # as many writers as the VM has cores
        conflicts: dict[str, int] = {}
        place_alone = _race(tdb.url, 1, ops, samples_each, "place", conflicts)
        place_many = _race(tdb.url, writers, ops, samples_each, "place", conflicts)
        with app_context(tdb.url):
            result = custody.verify()
            placed = db.session.execute(select(func.count()).select_from(Sample).where(
                Sample.barcode.like("PL%"), Sample.container_id.is_not(None))).scalar_one()
            db.session.rollback()
    inputs = {"writers": writers, "events_per_writer": ops, "backend": "PostgreSQL", "processes": True}
    checkout_ratio = services / service_alone
    place_ratio = place_many / place_alone
    all_placed = placed == ops * (writers + 1) and not conflicts
    return {
        "custody_appends_8_writers": {
            "ratio": appends, "target": ">= 1,500 events/s", "ok": appends >= 1500 and result.ok,
            "inputs": dict(inputs, operation="custody.record, one event and one commit each"),
            "detail": {"append_events_per_s": round(appends), "chain_ok": result.ok,
                       "events_checked": result.events_checked}},
        "checkout_return_8_vs_1": {
            "ratio": checkout_ratio, "target": ">= 2", "ok": checkout_ratio >= 2,
            "inputs": dict(inputs, operation="check-out, then return of the same tube; one commit each",
                           samples=f"{samples_each} per writer, imported compactly (shared boxes)"),
            "detail": {"eight_writers_per_s": round(services), "one_writer_per_s": round(service_alone),
                       "two_writers_per_s": round(service_two)}},
        "placement_8_vs_1": {
            "ratio": place_ratio, "target": ">= 1.5, every one stored, no 409", "ok": place_ratio >= 1.5 and all_placed,
            "inputs": dict(inputs, operation="register_sample with compact placement, one commit each"),
            "detail": {"eight_clients_per_s": round(place_many), "one_client_per_s": round(place_alone),
                       "stored": placed, "asked": ops * (writers + 1), "conflicts_409": conflicts}},
    }


if __name__ == "__main__":
    url, prefix, samples, ops, start_at, mode = sys.argv[1:7]
    writer_main(url, prefix, int(samples), int(ops), float(start_at), mode)
