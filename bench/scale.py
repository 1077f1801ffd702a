"""P6 capacity_10m_vs_40k, P7 lookup_10m_vs_40k and network_capacity_vs_full, on PostgreSQL.

One national-network layout (sites > tanks > racks > boxes of 10x10) sized for
the big sample count is written with COPY; the capacity report
(GET /api/v1/capacity) and the barcode lookup (GET /api/v1/samples/{barcode})
are timed first with the base count of samples stored, then again after the
rest is COPYed in. The layout is the same at both counts, so the ratio shows
how the cost grows with the number of samples. At the big count the network
page (GET /api/v1/network, a row per site) is timed against the whole report,
and its figures are checked against the report's site rows. After each COPY the container
`used` counters are set from a GROUP BY, box level first, then rolled up.
"""
import io
import random
import statistics
import time
from datetime import datetime

from .common import TempDatabase, app_context, pg_dsn

RACKS, BOXES, ROWS, COLS = 10, 10, 10, 10
PER_TANK = RACKS * BOXES * ROWS * COLS
SITES = 15  # a central biobank and 14 regional centres


CONTAINER_COLUMNS = ("id", "barcode", "name", "kind", "parent_id", "lineage", "path", "tank_id", "rows", "cols",
                     "storage_temperature", "allowed_types", "effective_temperature", "effective_types", "capacity",
                     "used", "created_at")


def _container_line(now: str, **values) -> str:
    """One COPY line of the container table, empty and created `now`; columns not given are NULL."""
    values = dict(values, used=0, created_at=now)
    return "\t".join("\\N" if values.get(c) is None else str(values[c]) for c in CONTAINER_COLUMNS) + "\n"


def _layout(cur, positions_needed: int) -> dict:
    tanks = max(SITES, -(-positions_needed // PER_TANK))
    now = datetime(2026, 1, 1).isoformat(sep=" ")
    buf = io.StringIO()
    cur.execute("SELECT COALESCE(MAX(id), 0) FROM container")  # after the default site of a fresh database
    next_id = cur.fetchone()[0] + 1
    boxes = []
    tank_ids, site_ids = [], []
    per_site = -(-tanks // SITES)
    made = 0
    for s in range(1, SITES + 1):
        site_id = next_id
        next_id += 1
        site_ids.append(site_id)
        n_tanks = min(per_site, tanks - made)
        made += n_tanks
        site_path = f"Centre {s:02d}"
        buf.write(_container_line(now, id=site_id, barcode=f"S{s:02d}", name=site_path, kind="site",
                                  lineage=f"/{site_id}/", path=site_path, capacity=n_tanks * PER_TANK))
        for t in range(1, n_tanks + 1):
            tank_id = next_id
            next_id += 1
            tank_ids.append(tank_id)
            tcode, tpath, tline = f"S{s:02d}-T{t:03d}", f"{site_path} / Tank {t:03d}", f"/{site_id}/{tank_id}/"
            buf.write(_container_line(now, id=tank_id, barcode=tcode, name=f"Tank {t:03d}", kind="tank",
                                      parent_id=site_id, lineage=tline, path=tpath, tank_id=tank_id,
                                      storage_temperature="LN2_vapor", effective_temperature="LN2_vapor",
                                      capacity=PER_TANK))
            for r in range(1, RACKS + 1):
                rack_id = next_id
                next_id += 1
                rcode, rpath, rline = f"{tcode}-R{r}", f"{tpath} / Rack {r}", f"{tline}{rack_id}/"
                buf.write(_container_line(now, id=rack_id, barcode=rcode, name=f"Rack {r}", kind="rack",
                                          parent_id=tank_id, lineage=rline, path=rpath, tank_id=tank_id,
                                          effective_temperature="LN2_vapor", capacity=BOXES * ROWS * COLS))
                for b in range(1, BOXES + 1):
                    box_id = next_id
                    next_id += 1
                    boxes.append(box_id)
                    buf.write(_container_line(now, id=box_id, barcode=f"{rcode}-B{b:02d}", name=f"Box {b}",
                                              kind="box", parent_id=rack_id, lineage=f"{rline}{box_id}/",
                                              path=f"{rpath} / Box {b}", tank_id=tank_id, rows=ROWS, cols=COLS,
                                              effective_temperature="LN2_vapor", capacity=ROWS * COLS))
    with cur.copy(f"COPY container ({', '.join(CONTAINER_COLUMNS)}) FROM STDIN") as copy:
        copy.write(buf.getvalue())
    cur.execute("SELECT setval(pg_get_serial_sequence('container', 'id'), %s)", (next_id - 1,))
    # each centre's top container is a site of the network, as sites.create_site makes them
    cur.executemany("INSERT INTO site (code, name, time_zone, container_id, is_default, created_at) "
                    "VALUES (%s, %s, 'Asia/Tashkent', %s, false, %s)",
                    [(f"S{s:02d}", f"Centre {s:02d}", cid, now) for s, cid in enumerate(site_ids, 1)])
    return {"containers": next_id - 1, "boxes": boxes, "tanks": len(tank_ids), "sites": SITES,
            "site_containers": site_ids}


TYPES = ("plasma", "serum", "tissue_frozen", "dna", "buffy_coat", "rna", "whole_blood")


def _copy_samples(cur, boxes: list, start: int, stop: int) -> None:
    """Samples start..stop-1, sample i in box i // 100 at position i % 100."""
    per_box = ROWS * COLS
    chunk = 200_000
    with cur.copy("COPY sample (barcode, sample_type, storage_temperature, status, donor, collected_at, volume, "
                  "unit, diagnosis, freeze_thaw_count, consent_withdrawn, container_id, pos_row, pos_col, "
                  "home_container_id, home_row, home_col, created_at, created_by) FROM STDIN") as copy:
        for lo in range(start, stop, chunk):
            lines = []
            for i in range(lo, min(stop, lo + chunk)):
                box = boxes[i // per_box]
                row, col = divmod(i % per_box, COLS)
                t = TYPES[i % 7]
                lines.append(f"NB{i:09d}\t{t}\tLN2_vapor\tavailable\tND{i // 4:08d}\t2024-{1 + i % 12:02d}-"
                             f"{1 + i % 28:02d} 09:00:00\t1.0000\tmL\tC50.9\t0\tf\t{box}\t{row + 1}\t{col + 1}\t"
                             f"{box}\t{row + 1}\t{col + 1}\t2025-01-01 00:00:00\tbench\n")
            copy.write("".join(lines))


def _recount(cur) -> None:
    """The `used` counters from the stored samples: boxes by GROUP BY, then each level up."""
    cur.execute("UPDATE container c SET used = s.n FROM (SELECT container_id, count(*) AS n FROM sample "
                "WHERE container_id IS NOT NULL GROUP BY container_id) s WHERE c.id = s.container_id")
    for kind in ("rack", "tank", "site"):
        cur.execute("UPDATE container c SET used = s.n FROM (SELECT parent_id, sum(used) AS n FROM container "
                    "WHERE parent_id IS NOT NULL GROUP BY parent_id) s WHERE c.id = s.parent_id AND c.kind = %s",
                    (kind,))


def _timed(client, path, headers, count) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        out.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} for {path}: {response.get_data(as_text=True)[:200]}")
    return out


def _measure(app, token, stored: int, reps: int, rng, one_site: int) -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    _timed(client, "/api/v1/capacity", headers, 2)
    capacity = _timed(client, "/api/v1/capacity", headers, max(3, reps // 20))
    one_site = _timed(client, f"/api/v1/capacity?within={one_site}", headers, max(3, reps // 20))
    lookups = [f"/api/v1/samples/NB{rng.randrange(stored):09d}" for _ in range(reps * 2)]
    for path in lookups[:reps // 4]:
        _timed(client, path, headers, 1)
    lookup = [t for path in lookups[reps // 4:] for t in _timed(client, path, headers, 1)]
    network = _timed(client, "/api/v1/network", headers, max(3, reps // 20))
    return {"capacity_ms": statistics.median(capacity) * 1000, "lookup_ms": statistics.median(lookup) * 1000,
            "site_capacity_ms": statistics.median(one_site) * 1000, "network_ms": statistics.median(network) * 1000,
            "network_matches_report": _same_site_figures(client, headers)}


FIGURES = ("positions", "used", "held", "free", "fraction")


def _same_site_figures(client, headers) -> bool:
    """Whether every site's row of the network page has the figures of its row in the whole report."""
    report = {item["id"]: item for item in client.get("/api/v1/capacity", headers=headers).get_json()["items"]}
    rows = client.get("/api/v1/network", headers=headers).get_json()
    return bool(rows) and all({k: row[k] for k in FIGURES} == {k: report[row["site"]["container_id"]][k]
                                                                for k in FIGURES} for row in rows)


def run(base: int, big: int, reps: int = 200) -> dict:
    import psycopg
    from biobank.auth.service import create_user, issue_token
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    rng = random.Random(8)
    timings = {}
    with TempDatabase("postgres", "p6") as tdb:
        with psycopg.connect(pg_dsn(tdb.url), autocommit=False) as conn:
            cur = conn.cursor()
            t0 = time.perf_counter()
            layout = _layout(cur, big)
            _copy_samples(cur, layout["boxes"], 0, base)
            _recount(cur)
            conn.commit()
            cur.execute("ANALYZE")
            conn.commit()
            timings["load_base_s"] = time.perf_counter() - t0
        with app_context(tdb.url) as app:
            # the whole report is the network manager's: every site
            user = create_user(system_actor("bench"), "benchmgr", "bench-password-1", "network_manager")
            token, _ = issue_token(user, 12)
            db.session.commit()
            db.session.remove()
            small = _measure(app, token, base, reps, rng, layout["site_containers"][0])
            db.session.remove()
        with psycopg.connect(pg_dsn(tdb.url), autocommit=False) as conn:
            cur = conn.cursor()
            t0 = time.perf_counter()
            _copy_samples(cur, layout["boxes"], base, big)
            conn.commit()
            timings["copy_rest_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            _recount(cur)
            conn.commit()
            timings["recount_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            cur.execute("ANALYZE")
            conn.commit()
            timings["analyze_s"] = time.perf_counter() - t0
            cur.execute("SELECT count(*), (SELECT used FROM container WHERE id = %s) FROM sample",
                        (layout["site_containers"][0],))
            stored, site_used = cur.fetchone()
        with app_context(tdb.url) as app:
            large = _measure(app, token, big, reps, rng, layout["site_containers"][0])
            db.session.remove()
    inputs = {"backend": "PostgreSQL", "base_samples": base, "big_samples": big, "stored_at_end": stored,
              "layout": f"{layout['sites']} sites, {layout['tanks']} tanks x {RACKS} racks x {BOXES} boxes x "
                        f"{ROWS}x{COLS} ({layout['containers']} containers), the same at both counts",
              "load": "COPY, then used counters by GROUP BY", "client": "Flask test client, median"}
    cap = large["capacity_ms"] / small["capacity_ms"]
    look = large["lookup_ms"] / small["lookup_ms"]
    net = large["network_ms"] / large["capacity_ms"]
    detail = {k: round(v, 3) for k, v in timings.items()}
    return {
        "capacity_10m_vs_40k": {"ratio": cap, "target": "<= 2", "ok": cap <= 2,
                                "inputs": dict(inputs, endpoint="GET /api/v1/capacity", requests=max(3, reps // 20)),
                                "detail": dict(detail, base_ms=round(small["capacity_ms"], 3),
                                               big_ms=round(large["capacity_ms"], 3), site_used=site_used,
                                               one_site_base_ms=round(small["site_capacity_ms"], 3),
                                               one_site_big_ms=round(large["site_capacity_ms"], 3))},
        "network_capacity_vs_full": {
            "ratio": net, "target": "<= 0.1, the same figures", "ok": net <= 0.1 and large["network_matches_report"],
            "inputs": dict(inputs, endpoint="GET /api/v1/network against GET /api/v1/capacity",
                           requests=max(3, reps // 20)),
            "detail": {"network_ms": round(large["network_ms"], 3), "full_report_ms": round(large["capacity_ms"], 3),
                       "one_site_report_ms": round(large["site_capacity_ms"], 3),
                       "one_site_report_base_ms": round(small["site_capacity_ms"], 3),
                       "same_figures_as_report": large["network_matches_report"]}},
        "lookup_10m_vs_40k": {"ratio": look, "target": "<= 1.5", "ok": look <= 1.5,
                              "inputs": dict(inputs, endpoint="GET /api/v1/samples/{barcode}",
                                             requests=reps * 2 - reps // 4, barcodes="random"),
                              "detail": dict(detail, base_ms=round(small["lookup_ms"], 3),
                                             big_ms=round(large["lookup_ms"], 3))},
    }
