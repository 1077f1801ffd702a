"""The benchmark suite runs end to end at its tiny scale and writes every
measure to its results file. No timing is asserted: figures vary by machine."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_tiny_writes_every_measure(tmp_path):
    from bench.__main__ import MEASURES
    output = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), BIOBANK_INSTANCE_PATH=str(tmp_path / "instance"))
    run = subprocess.run([sys.executable, "-m", "bench", "--scale", "tiny", "--output", str(output)],
                         cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["scale"] == "tiny"
    assert {"nproc", "cpu", "ram_gb"} <= set(report["machine"])
    for name in MEASURES:
        result = report["measures"][name]
        assert "error" not in result, (name, result)
        assert "skipped" in result or ("ratio" in result and "inputs" in result and "target" in result), name
    assert "lookup_vs_bare" in run.stdout
