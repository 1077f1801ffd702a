"""P9 custody_appends_8_writers: 8 writer processes on one PostgreSQL database,
each appending custody events about its own samples (one event per unit of
work, committed each), all starting at the same moment; events per second over
the wall time, and the chain verified afterwards. The same writers then check
their samples out and back in, to show the rate of whole state changes."""
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
    from biobank.custody import service as custody
    from biobank.extensions import db
    from biobank.samples import service
    actor = system_actor(f"bench-{prefix}")
    with app_context(url):
        barcodes = [f"{prefix}{i:08d}" for i in range(samples)]
        service.get_sample(barcodes[0])
        db.session.rollback()
        while time.time() < start_at:
            time.sleep(0.005)
        t0 = time.time()
        for k in range(ops):
            barcode = barcodes[(k // 2) % samples]
            if mode == "append":
                custody.record(actor, "label.printed", "sample", barcode, sample_barcode=barcode)
            elif k % 2 == 0:
                service.checkout_sample(actor, barcode, reason="bench")
            else:
                service.return_sample(actor, barcode, thawed=False)
            db.session.commit()
        t1 = time.time()
    print(json.dumps({"start": t0, "end": t1, "events": ops}))


def _checkpoint(url: str) -> None:
    """Write out what earlier benchmarks left dirty (a million COPYed rows, dropped
    databases), so their background writes do not land inside this measurement."""
    import psycopg
    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _race(url: str, writers: int, ops: int, samples_each: int, mode: str) -> float:
    """Start the writers together; events per second over the wall time of all of them."""
    _checkpoint(url)
    start_at = time.time() + 4
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "bench.writers", url, f"W{w}X", str(samples_each),
                               str(ops), str(start_at), mode], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(writers)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"writer failed: {err[-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return sum(r["events"] for r in reports) / wall


def run(writers: int, ops: int, samples_each: int = 20) -> dict:
    """The headline: appends through custody.record, one event and one commit per
    unit of work. Beside it, the same writers doing whole check-outs and returns,
    and one and two writers alone doing them, to show what limits those."""
    from biobank.core.actor import system_actor
    from biobank.custody import service as custody
    from biobank.extensions import db
    from biobank.samples import importer
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
        with app_context(tdb.url):
            result = custody.verify()
            db.session.rollback()
    return {"ratio": appends, "target": ">= 500 events/s", "ok": appends >= 500 and result.ok,
            "inputs": {"writers": writers, "events_per_writer": ops, "backend": "PostgreSQL", "processes": True,
                       "operation": "custody.record, one event and one commit each"},
            "detail": {"append_events_per_s": round(appends),
                       "checkout_return_events_per_s": round(services),
                       "checkout_return_one_writer_events_per_s": round(service_alone),
                       "checkout_return_two_writers_events_per_s": round(service_two),
                       "chain_ok": result.ok, "events_checked": result.events_checked}}


if __name__ == "__main__":
    url, prefix, samples, ops, start_at, mode = sys.argv[1:7]
    writer_main(url, prefix, int(samples), int(ops), float(start_at), mode)
