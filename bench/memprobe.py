"""Peak memory of one operation, in a subprocess of its own: ru_maxrss growth
over the process's size just before the operation (export, verify), or the
tracemalloc peak of the Python allocations it makes (import).

    python -m bench.memprobe import N            # CSV import of N rows (SQLite, demo layout + tanks as needed)
    python -m bench.memprobe export URL          # streaming audit export (NDJSON), all events
    python -m bench.memprobe verify URL          # custody.service.verify
"""
import json
import math
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def probe(*args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "bench.memprobe", *map(str, args)], cwd=str(ROOT), env=env,
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe {args} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _room_for(n: int, site_id: int) -> None:
    """Tanks of 10,000 positions beside the demo layout until n samples fit (the
    national scale probes the largest file the import accepts, 200,000 rows)."""
    from biobank import demo
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.storage.service import build_layout
    demo_positions = demo.TANKS * demo.RACKS * demo.BOXES * demo.ROWS * demo.COLS
    for t in range(math.ceil(max(0, n - demo_positions) / 10_000)):
        build_layout(system_actor("bench"), name=f"Extra tank {t + 1}", racks=10, boxes_per_rack=10, rows=10,
                     cols=10, parent_id=site_id)
    db.session.commit()


def _main(what: str, arg: str) -> dict:
    from .common import TempDatabase, app_context, cleanup, csv_rows, load_demo_layout
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    actor = system_actor("bench")
    if what == "import":
        n = int(arg)
        data = csv_rows(n, prefix="MP")
        with TempDatabase("sqlite", "mem") as tdb, app_context(tdb.url):
            from biobank.samples import importer
            site_id = load_demo_layout()
            _room_for(n, site_id)
            before = _rss_kb()
            # The process peaked higher while building the layout than the import needs, so
            # ru_maxrss cannot see the import: trace the Python allocations it makes instead.
            tracemalloc.start()
            importer.import_samples(actor, data)
            db.session.commit()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        cleanup()
        return {"what": "import", "rows": n, "baseline_mb": round(before / 1024, 1),
                "growth_mb": round(peak / 1024 / 1024, 1)}
    with app_context(arg):
        from biobank.core.db import write_intent
        write_intent.set(False)
        before = _rss_kb()
        size = 0
        if what == "export":
            try:
                from biobank.reports import audit_export
                for chunk in audit_export.export(actor, {}, "ndjson"):
                    size += len(chunk)
                label = "reports.audit_export (NDJSON)"
            except ImportError:  # the streaming audit export is not there: the sample CSV export instead
                from biobank.samples import queries
                for chunk in queries.export_csv(actor, {}):
                    size += len(chunk)
                label = "samples.queries.export_csv"
        else:
            from biobank.custody import service
            result = service.verify()
            size = result.events_checked
            label = "custody.service.verify"
        after = _rss_kb()
        db.session.rollback()
    return {"what": label, "output": size, "baseline_mb": round(before / 1024, 1),
            "growth_mb": round((after - before) / 1024, 1)}


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1], sys.argv[2])))
