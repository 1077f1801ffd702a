"""P4 placement_flatness: compact auto-placement of many samples into the demo
layout. The first and the last window are registered one sample per unit of
work through samples.service.register_sample (the scanner path); the samples in
between are placed by the same compact strategy through the import path, in
files of 1,000 rows. Time of the last window over the first."""
import time

from .common import TempDatabase, app_context, csv_rows, load_demo_layout

WARMUP = 50


def _register(service, db, actor, start: int, count: int) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + count):
        service.register_sample(actor, barcode=f"PL{i:08d}", sample_type="plasma", donor=f"D{i // 3:06d}",
                                volume="1.0", unit="mL", storage_temperature="LN2_vapor",
                                location={"strategy": "compact"})
        db.session.commit()
    return time.perf_counter() - t0


def run(n: int, window: int, backend: str = "sqlite") -> dict:
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.samples import importer, service
    actor = system_actor("bench")
    window = min(window, (n - WARMUP) // 2)
    with TempDatabase(backend, "p4") as tdb, app_context(tdb.url):
        load_demo_layout()
        _register(service, db, actor, 0, WARMUP)
        first = _register(service, db, actor, WARMUP, window)
        done = WARMUP + window
        middle_t0 = time.perf_counter()
        while done < n - window:
            count = min(1000, n - window - done)
            importer.import_samples(actor, csv_rows(count, prefix="PM", start=done))
            db.session.commit()
            done += count
        middle = time.perf_counter() - middle_t0
        last = _register(service, db, actor, done, window)
        from sqlalchemy import func, select
        from biobank.samples.models import Sample
        stored = db.session.execute(select(func.count()).select_from(Sample)).scalar_one()
    ratio = last / first
    return {"ratio": ratio, "target": "<= 1.3", "ok": ratio <= 1.3,
            "inputs": {"samples": n, "window": window, "warmup": WARMUP,
                       "layout": "demo: 26 tanks x 4 racks x 4 boxes x 10x10 (41,600 positions)",
                       "strategy": "compact", "backend": backend,
                       "path": "windows: register_sample, one commit each; middle: import_samples, 1,000 rows a file"},
            "detail": {"first_window_s": round(first, 3), "last_window_s": round(last, 3),
                       "per_sample_ms_first": round(first / window * 1000, 3),
                       "per_sample_ms_last": round(last / window * 1000, 3),
                       "middle_import_s": round(middle, 1), "stored_at_end": stored}}
