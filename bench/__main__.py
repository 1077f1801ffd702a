"""The benchmark suite: `make bench` (or `python -m bench --scale national`).

Every figure is a ratio of two things measured side by side in the same run,
so it can be compared across machines. Prints a table and writes
bench/results.json.
"""
import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

SCALES = {
    # seconds: the smoke test
    "tiny": {"http_requests": 60, "http_samples": 200, "place_n": 300, "place_window": 50, "import_n": 500,
             "scale_base": 1000, "scale_big": 5000, "scale_reps": 10, "events": 2000, "writers": 8,
             "writer_ops": 4, "mem_import": (250, 1000),
             "mon_minutes": 1000, "mon_reps": 2, "mon_mqtt": 40, "replica_samples": 2000, "replica_requests": 200, "scan_tubes": 24},
    # the default: a few minutes (P8 over 1M events, as specified; P6/P7 at 1M samples)
    "default": {"http_requests": 2000, "http_samples": 3000, "place_n": 40000, "place_window": 1000,
                "import_n": 40000, "scale_base": 40000, "scale_big": 1_000_000, "scale_reps": 200,
                "events": 1_000_000, "writers": 8, "writer_ops": 1000, "mem_import": (10000, 40000),
                "mon_minutes": 43200, "mon_reps": 7, "mon_mqtt": 2000, "replica_samples": 40000,
                "replica_requests": 2000, "scan_tubes": 120},
    # the national network: 10 million samples, 1 million custody events (COPY takes minutes), and
    # the memory of the largest file the import accepts (200,000 rows)
    "national": {"http_requests": 2000, "http_samples": 3000, "place_n": 40000, "place_window": 1000,
                 "import_n": 40000, "scale_base": 40000, "scale_big": 10_000_000, "scale_reps": 200,
                 "events": 1_000_000, "writers": 8, "writer_ops": 1000, "mem_import": (40000, 200_000),
                 "mon_minutes": 43200, "mon_reps": 7, "mon_mqtt": 2000, "replica_samples": 40000,
                 "replica_requests": 2000, "scan_tubes": 120},
}
MEASURES = ("lookup_vs_bare", "lookup_2w_vs_1w", "boxmap_vs_lookup", "placement_flatness", "import_vs_raw",
            "import_pg_vs_copy", "capacity_10m_vs_40k",
            "lookup_10m_vs_40k", "network_capacity_vs_full", "verify_vs_sha256", "custody_appends_8_writers",
            "checkout_return_8_vs_1", "placement_8_vs_1", "memory_import",
            "memory_export", "readings_month_vs_lookup", "readings_ingest", "catalogue_replica_vs_primary",
            "scan_steps_vs_lookup")
GROUPS = {"http": ("lookup_vs_bare", "lookup_2w_vs_1w", "boxmap_vs_lookup"), "placement": ("placement_flatness",),
          "import": ("import_vs_raw", "import_pg_vs_copy"),
          "scale": ("capacity_10m_vs_40k", "lookup_10m_vs_40k", "network_capacity_vs_full"),
          "chain": ("verify_vs_sha256", "memory_export"),
          "writers": ("custody_appends_8_writers", "checkout_return_8_vs_1", "placement_8_vs_1"),
          "memory": ("memory_import",), "monitoring": ("readings_month_vs_lookup", "readings_ingest"),
          "replica": ("catalogue_replica_vs_primary",), "browser": ("scan_steps_vs_lookup",)}


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": ram, "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None}


def _run_group(name: str, cfg: dict, pg_reason: str | None) -> dict:
    from . import chain, http, importing, memprobe, monitoring, placement, replica, scale, scan_steps, writers
    needs_pg = name in ("scale", "chain", "writers")
    if needs_pg and pg_reason:
        return {m: {"skipped": pg_reason} for m in GROUPS[name]}
    if name == "http":
        return http.run(cfg["http_requests"], cfg["http_samples"])
    if name == "placement":
        return {"placement_flatness": placement.run(cfg["place_n"], cfg["place_window"])}
    if name == "import":
        return {"import_vs_raw": importing.run(cfg["import_n"]),
                "import_pg_vs_copy": ({"skipped": pg_reason} if pg_reason
                                      else importing.run(cfg["import_n"], backend="postgres"))}
    if name == "scale":
        return scale.run(cfg["scale_base"], cfg["scale_big"], cfg["scale_reps"])
    if name == "chain":
        results, memory = chain.run(cfg["events"], memory_probe=lambda url, n: {
            "export": memprobe.probe("export", url), "verify": memprobe.probe("verify", url), "events": n})
        small, big = memory["small"], memory["big"]
        growth = max(big["export"]["growth_mb"], 0.1) / max(small["export"]["growth_mb"], 0.1)
        results["memory_export"] = {
            "ratio": growth, "target": "<= 1.5 (flat in the event count)", "ok": growth <= 1.5,
            "inputs": {"events_small": small["events"], "events_big": big["events"], "backend": "PostgreSQL",
                       "export": big["export"]["what"], "measure": "ru_maxrss growth of a subprocess"},
            "detail": {"export_growth_mb_small": small["export"]["growth_mb"],
                       "export_growth_mb_big": big["export"]["growth_mb"],
                       "verify_growth_mb_small": small["verify"]["growth_mb"],
                       "verify_growth_mb_big": big["verify"]["growth_mb"],
                       "baseline_mb": big["export"]["baseline_mb"]}}
        return results
    if name == "monitoring":
        return monitoring.run(cfg["mon_minutes"], cfg["mon_reps"], cfg["mon_mqtt"])
    if name == "browser":
        return {"scan_steps_vs_lookup": scan_steps.run(cfg["scan_tubes"])}
    if name == "replica":
        return {"catalogue_replica_vs_primary": replica.run(cfg["replica_samples"], cfg["replica_requests"])}
    if name == "writers":
        return writers.run(cfg["writers"], cfg["writer_ops"])
    if name == "memory":
        small_n, big_n = cfg["mem_import"]
        small, big = memprobe.probe("import", small_n), memprobe.probe("import", big_n)
        per_row_kb = big["growth_mb"] * 1024 / big_n
        return {"memory_import": {
            "ratio": big["growth_mb"], "target": "reported (MB); one file is held and checked in memory",
            "ok": None, "unit": "MB",
            "inputs": {"rows_small": small_n, "rows_big": big_n, "backend": "SQLite",
                       "measure": "tracemalloc peak during the import, in a subprocess"},
            "detail": {"growth_mb_small": small["growth_mb"], "growth_mb_big": big["growth_mb"],
                       "kb_per_row_big": round(per_row_kb, 2), "baseline_mb": big["baseline_mb"]}}}
    raise ValueError(name)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def print_table(results: dict, out=sys.stdout) -> None:
    print(f"\n{'measure':<28} {'value':>9}  {'target':<22} {'ok':<5}", file=out)
    print("-" * 68, file=out)
    for name in MEASURES:
        r = results.get(name, {})
        if "skipped" in r or "error" in r:
            print(f"{name:<28} {'-':>9}  {'':<22} {'skip' if 'skipped' in r else 'ERROR'}: "
                  f"{r.get('skipped') or r.get('error')}", file=out)
            continue
        ok = {True: "yes", False: "NO", None: "-"}[r.get("ok")]
        print(f"{name:<28} {_fmt(r.get('ratio')):>9}  {r.get('target', ''):<22} {ok:<5}", file=out)
        inputs = ", ".join(f"{k}={v}" for k, v in r.get("inputs", {}).items())
        detail = ", ".join(f"{k}={v}" for k, v in r.get("detail", {}).items())
        print(f"    inputs: {inputs}", file=out)
        print(f"    figures: {detail}", file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="default",
                        help="tiny: seconds (smoke test); default: a few minutes; national: 10M samples, 1M events")
    parser.add_argument("--only", action="append", choices=sorted(GROUPS),
                        help="run only these groups (repeatable)")
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "results.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("FLASK_DEBUG", "0")
    import logging
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from .common import cleanup, postgres_available
    cfg = SCALES[args.scale]
    pg_reason = postgres_available()
    results: dict = {}
    started = time.time()
    for group in (args.only or GROUPS):
        t0 = time.time()
        print(f"[bench] {group} ...", file=sys.stderr, flush=True)
        try:
            results.update(_run_group(group, cfg, pg_reason))
        except Exception as exc:  # one broken measure must not hide the others
            traceback.print_exc()
            results.update({m: {"error": f"{type(exc).__name__}: {exc}"} for m in GROUPS[group]})
        print(f"[bench] {group} done in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    cleanup()
    report = {"scale": args.scale, "config": cfg, "machine": machine(),
              "started": datetime.fromtimestamp(started, timezone.utc).isoformat(),
              "seconds": round(time.time() - started, 1), "measures": results}
    Path(args.output).write_text(json.dumps(report, indent=2, default=str))
    print_table(results)
    print(f"\nscale={args.scale}; {report['seconds']}s; machine: {report['machine']}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
