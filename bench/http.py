"""P1 lookup_vs_bare and P3 boxmap_vs_lookup, against gunicorn (2 sync workers)
serving bench/wsgi_app.py on a loopback port, with an SQLite database of its own
holding the demo layout and a few thousand samples."""
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from biobank.core.ports import free_port

from .common import TempDatabase, app_context, csv_rows, load_demo_layout

ROOT = Path(__file__).resolve().parent.parent


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


WRK = shutil.which("wrk")
# Cycles through the paths the bench hands it (one per line in a file), so that wrk, like the
# threaded client, asks for many different tubes; wrk counts any answer but 2xx or 3xx, and the bench
# then fails the run.
_WRK_SCRIPT = """
local paths, i = {}, 0
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%f\\n", summary.requests, summary.duration / 1e6))
end
"""


def client_name(threads: int) -> str:
    if WRK:
        return f"wrk (C, epoll), {threads} keep-alive connections on 2 threads"
    return f"threaded http.client, {threads} keep-alive connections (wrk is not installed)"


def _load(port: int, paths: list[str], headers: dict, total: int, threads: int) -> float:
    """Requests per second over `threads` keep-alive connections, about `total` requests:
    wrk where it is installed (a client in C leaves the cores to the server it measures),
    else Python threads."""
    if WRK:
        return _load_wrk(port, paths, headers, total, threads)
    return _load_threads(port, paths, headers, total, threads)


def _load_wrk(port: int, paths: list[str], headers: dict, total: int, threads: int) -> float:
    work = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    try:
        (work / "paths.txt").write_text("\n".join(paths) + "\n")
        (work / "cycle.lua").write_text(_WRK_SCRIPT)
        # a first pass measures the rate, so that the timed run lasts about `total` requests
        seconds = 1
        for _ in range(2):
            command = [WRK, "-t", str(min(2, threads)), "-c", str(threads), "-d", f"{seconds}s", "--timeout", "30s",
                       "-s", str(work / "cycle.lua")]
            for name, value in headers.items():
                command += ["-H", f"{name}: {value}"]
            run = subprocess.run(command + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                                 timeout=600, env=dict(os.environ, BENCH_PATHS=str(work / "paths.txt")))
            if run.returncode != 0:
                raise RuntimeError(f"wrk failed: {run.stderr[-500:]}")
            if "Non-2xx or 3xx responses" in run.stdout:
                raise RuntimeError(f"requests failed: {run.stdout[-500:]}")
            counted = re.search(r"BENCH requests=(\d+) seconds=([\d.]+)", run.stdout)
            rate = int(counted.group(1)) / float(counted.group(2))
            wanted = max(1, round(total / rate))
            if wanted <= seconds:
                return rate
            seconds = wanted
        return rate
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load_threads(port: int, paths: list[str], headers: dict, total: int, threads: int) -> float:
    """Requests per second for `total` requests over `threads` keep-alive clients."""
    per_thread = total // threads
    errors = []

    def worker(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(per_thread):
            conn.request("GET", paths[(k * per_thread + i) % len(paths)], headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
        conn.close()

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. HTTP {errors[0]}")
    return per_thread * threads / elapsed


def _latencies(port: int, paths: list[str], headers: dict, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for i in range(count):
        t0 = time.perf_counter()
        conn.request("GET", paths[i % len(paths)], headers=headers)
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - t0)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} for {paths[i % len(paths)]}")
    conn.close()
    return out


@contextmanager
def gunicorn(url: str, workers: int, **settings):
    """gunicorn serving bench/wsgi_app.py on a free loopback port: yields the port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    env.update(settings, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                               f"127.0.0.1:{port}", "--timeout", "120", "bench.wsgi_app:app"], cwd=str(ROOT), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(requests: int, samples: int, threads: int = 4, rounds: int = 2) -> dict:
    from sqlalchemy import select
    from biobank.auth.service import create_user, issue_token
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.samples import importer
    from biobank.storage.models import Container
    actor = system_actor("bench")
    with TempDatabase("sqlite", "p1") as tdb:
        with app_context(tdb.url):
            load_demo_layout()
            barcodes = importer.import_samples(actor, csv_rows(samples, prefix="HT"))
            user = create_user(actor, "benchtech", "bench-password-1", "technician")
            token, _ = issue_token(user, 12)
            db.session.commit()
            full_boxes = db.session.execute(select(Container.id).where(
                Container.rows.is_not(None), Container.used == Container.capacity).order_by(Container.id)).scalars().all()
        headers = {"Authorization": f"Bearer {token}"}
        lookups = [f"/api/v1/samples/{b}" for b in barcodes[:: max(1, len(barcodes) // 997)]]
        maps = [f"/api/v1/containers/{i}/map" for i in full_boxes]
        with gunicorn(tdb.url, 1) as port:
            _load(port, lookups, headers, min(200, requests), threads)
            one_worker = [_load(port, lookups, headers, requests, threads) for _ in range(rounds)]
        with gunicorn(tdb.url, 2) as port:
            _load(port, ["/bench/bare"], headers, min(200, requests), threads)  # warm both workers
            _load(port, lookups, headers, min(200, requests), threads)
            bare_rates, lookup_rates = [], []
            for _ in range(rounds):  # interleaved, best of each
                bare_rates.append(_load(port, ["/bench/bare"], headers, requests, threads))
                lookup_rates.append(_load(port, lookups, headers, requests, threads))
            n_lat = max(50, requests // 4)
            _latencies(port, maps, headers, 20)
            lookup_lat = _latencies(port, lookups, headers, n_lat)
            map_lat = _latencies(port, maps, headers, n_lat)
            lookup_lat += _latencies(port, lookups, headers, n_lat)
            map_lat += _latencies(port, maps, headers, n_lat)
    bare, lookup = max(bare_rates), max(lookup_rates)
    med_lookup, med_map = statistics.median(lookup_lat), statistics.median(map_lat)
    common = {"server": "gunicorn, 2 sync workers, loopback", "database": "SQLite (WAL)",
              "stored_samples": samples, "auth": "bearer token"}
    return {
        "lookup_vs_bare": {
            "ratio": lookup / bare, "target": ">= 0.8", "ok": lookup / bare >= 0.8,
            "inputs": dict(common, requests=requests, client_threads=threads, rounds=rounds,
                           client=client_name(threads)),
            "detail": {"bare_req_per_s": round(bare), "lookup_req_per_s": round(lookup),
                       "bare_rounds": [round(r) for r in bare_rates], "lookup_rounds": [round(r) for r in lookup_rates]}},
        "lookup_2w_vs_1w": {
            "ratio": lookup / max(one_worker), "target": ">= 1.7", "ok": lookup / max(one_worker) >= 1.7,
            "inputs": dict(common, requests=requests, client_threads=threads, rounds=rounds,
                           client=client_name(threads), server="gunicorn, 1 then 2 sync workers, loopback"),
            "detail": {"one_worker_req_per_s": round(max(one_worker)), "two_workers_req_per_s": round(lookup),
                       "one_worker_rounds": [round(r) for r in one_worker]}},
        "boxmap_vs_lookup": {
            "ratio": med_map / med_lookup, "target": "<= 2", "ok": med_map / med_lookup <= 2,
            "inputs": dict(common, requests_each=2 * n_lat, box="10x10, full", client="one connection, sequential"),
            "detail": {"lookup_median_ms": round(med_lookup * 1000, 3), "boxmap_median_ms": round(med_map * 1000, 3)}},
    }
