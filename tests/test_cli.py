"""The `biobank` command line."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from biobank.auth.models import User
from biobank.custody import service as custody
from biobank.network.models import Site
from biobank.extensions import db
from biobank.samples.models import Sample
from biobank.storage.models import Container


def test_users_create(runner, monkeypatch):
    monkeypatch.setenv("BIOBANK_PASSWORD", "long-enough-pass")
    result = runner.invoke(args=["users", "create", "alice", "--role", "manager"])
    assert result.exit_code == 0, result.output
    assert db.session.execute(select(User.role).where(User.username == "alice")).scalar_one() == "manager"
    again = runner.invoke(args=["users", "create", "alice", "--role", "manager"])
    assert again.exit_code != 0 and "already exists" in again.output
    monkeypatch.setenv("BIOBANK_PASSWORD", "short")
    weak = runner.invoke(args=["users", "create", "bob", "--role", "admin"])
    assert weak.exit_code != 0 and "at least" in weak.output
    wrong = runner.invoke(args=["users", "create", "carol", "--role", "wizard"])
    assert wrong.exit_code != 0


def test_users_create_prompts_for_a_password(runner, monkeypatch):
    monkeypatch.delenv("BIOBANK_PASSWORD", raising=False)
    result = runner.invoke(args=["users", "create", "dave", "--role", "technician"],
                           input="prompted-pass\nprompted-pass\n")
    assert result.exit_code == 0, result.output


def test_demo_is_idempotent_and_prints_logins(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "tech / tech-demo-pass" in first.output and "researcher" in first.output
    assert "tech-sam / tech-sam-demo-pass  (SAM)" in first.output
    central, *regions = db.session.execute(select(Site).order_by(Site.id)).scalars()
    assert central.code == "CBB" and central.is_default and [r.code for r in regions] == ["SAM", "FER"]
    positions = db.session.get(Container, central.container_id).capacity
    assert 40_000 <= positions <= 42_000
    tanks = db.session.execute(select(func.count()).select_from(Container).where(
        Container.kind == "tank", Container.lineage.startswith(f"/{central.container_id}/"))).scalar_one()
    samples = db.session.execute(select(func.count()).select_from(Sample)).scalar_one()
    children = db.session.execute(select(func.count()).select_from(Sample).where(Sample.parent_id.is_not(None))).scalar_one()
    assert tanks == 26 and samples >= 200 and children > 0
    for region in regions:  # a few tanks each, with samples
        top = db.session.get(Container, region.container_id)
        assert 0 < top.capacity < 10_000 and top.used > 0
    in_transit = db.session.execute(select(func.count()).select_from(Sample).where(Sample.status == "in_transit"))
    assert in_transit.scalar_one() > 0
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already present" in second.output
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Sample)).scalar_one() == samples
    assert custody.verify().ok


def test_audit_verify_cli(runner, make):
    make.box()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Chain intact: 1 events" in result.output


@pytest.mark.sqlite_only  # one real server start is enough; the API tests cover both databases
def test_serve_runs_gunicorn_and_answers(database_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=database_url, BIOBANK_INSTANCE_PATH=str(tmp_path),
               BIOBANK_PASSWORD="serve-test-pass")
    exe = [sys.executable, "-c", "from biobank.cli import main; main()"]
    subprocess.run(exe + ["users", "create", "srv", "--role", "technician"], env=env, check=True,
                   capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(exe + ["serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/openapi.json", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(base + "/auth/token", method="POST",
                                         data=json.dumps({"username": "srv", "password": "serve-test-pass"}).encode(),
                                         headers={"Content-Type": "application/json"})
        token = json.load(urllib.request.urlopen(request, timeout=5))["token"]
        for _ in range(4):  # served by either worker, each request its own identity
            me = urllib.request.Request(base + "/samples", headers={"Authorization": f"Bearer {token}"})
            assert json.load(urllib.request.urlopen(me, timeout=5))["total"] == 0
            try:
                urllib.request.urlopen(base + "/samples", timeout=5)
                raise AssertionError("anonymous request was answered")
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
    finally:
        os.killpg(server.pid, 15)
        server.wait(10)


def test_correct_samples_dry_run_then_apply_and_a_bad_file(runner, make, tmp_path):
    from biobank.samples.models import Sample
    from biobank.extensions import db
    from sqlalchemy import select
    make.sample("CLI-C1", box=make.box(), position="A1", diagnosis="C50.9")
    good = tmp_path / "fix.csv"
    good.write_text("barcode,diagnosis,reason\nCLI-C1,C50.1,pathology review\n")
    preview = runner.invoke(args=["correct", "samples", str(good), "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "CLI-C1 (line 2): diagnosis C50.9 → C50.1, reason: pathology review" in preview.output
    assert "nothing was changed" in preview.output
    db.session.rollback()
    assert db.session.execute(select(Sample.diagnosis).where(Sample.barcode == "CLI-C1")).scalar_one() == "C50.9"
    done = runner.invoke(args=["correct", "samples", str(good)])
    assert done.exit_code == 0 and "Corrected 1 record(s)" in done.output
    db.session.rollback()
    assert db.session.execute(select(Sample.diagnosis).where(Sample.barcode == "CLI-C1")).scalar_one() == "C50.1"
    bad = tmp_path / "bad.csv"
    bad.write_text("barcode,diagnosis,reason\nCLI-C1,C50.2,\nNOPE-1,C50.1,x\n")
    refused = runner.invoke(args=["correct", "samples", str(bad)])
    assert refused.exit_code == 1
    assert "line 2:" in refused.output and "line 3:" in refused.output
