"""`biobank backup FILE` and `biobank restore FILE` into an empty database, on both backends."""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from biobank import create_app
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.models import Sample

from ..conftest import _pg_admin, _pg_url
from .conftest import idle

BIOBANK = Path(sys.executable).with_name("biobank")


def _inventory():
    samples = [(s.barcode, s.status, s.container_id, s.pos_row, s.pos_col, s.volume, s.notes)
               for s in db.session.execute(select(Sample).order_by(Sample.barcode)).scalars()]
    chain = [(e.seq, e.hash) for e in db.session.execute(select(CustodyEvent).order_by(CustodyEvent.seq)).scalars()]
    return samples, chain


def _cli(url, instance, *args):
    env = dict(os.environ, DATABASE_URL=url, BIOBANK_INSTANCE_PATH=str(instance))
    return subprocess.run([str(BIOBANK), *args], env=env, capture_output=True, text=True, timeout=300)


def _empty_database(backend, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}", lambda: None
    name = f"biobank_restore_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _pg_url(name), drop


def test_backup_and_restore_into_an_empty_database_gives_the_same_inventory(app, make, backend, database_url,
                                                                           tmp_path):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3)
    box, other = make.boxes_of(tank)
    for i in range(5):
        make.sample(f"BK-{i}", box=box, position=f"A{i % 3 + 1}" if i < 3 else f"B{i - 2}",
                    notes="naïve 'quoted' <b>x</b>")
    from biobank.samples import service as samples
    samples.move_sample(make.actor(), "BK-0", container_id=other.id, position="C3", reason="tidy")
    samples.checkout_sample(make.actor(), "BK-1", reason="assay")
    db.session.commit()
    expected = _inventory()
    idle()

    file = tmp_path / "inventory.backup"
    made = _cli(database_url, tmp_path, "backup", str(file))
    assert made.returncode == 0, made.stderr
    assert file.stat().st_size > 0

    target, drop = _empty_database(backend, tmp_path)
    try:
        restored = _cli(target, tmp_path, "restore", str(file))
        assert restored.returncode == 0, restored.stderr
        assert "chain intact" in restored.stdout
        copy = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": target})
        with copy.app_context():
            assert _inventory() == expected
            assert custody.verify().ok
            db.session.remove()
            # a restored inventory keeps working: the next change extends the same chain
            samples.return_sample(make.actor(), "BK-1", thawed=False)
            db.session.commit()
            assert custody.verify().ok and custody.verify().events_checked == len(expected[1]) + 1
            db.session.remove()
            db.engine.dispose()
        # restoring again into the now non-empty database is refused and changes nothing
        again = _cli(target, tmp_path, "restore", str(file))
        assert again.returncode != 0 and "not empty" in again.stderr
    finally:
        drop()


def test_restore_refuses_what_is_not_a_backup(app, backend, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    target, drop = _empty_database(backend, tmp_path)
    try:
        result = _cli(target, tmp_path, "restore", str(junk))
        assert result.returncode != 0 and "not a biobank backup" in result.stderr
    finally:
        drop()


@pytest.mark.postgres
def test_pg_dump_and_pg_restore_get_the_password_by_environment_not_on_their_command_line(app, make, database_url,
                                                                                          tmp_path):
    """A command line is readable by every local user (ps, /proc/PID/cmdline): the database password
    must not be on it. Wrappers in front of the real tools record what they were started with."""
    make.sample("PW-1", box=make.box(), position="A1")
    idle()
    password = "s3cret-Pa55word"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        real = shutil.which(tool) or f"/usr/bin/{tool}"
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/{tool}.argv"\n'
                           f'printf "%s" "$PGPASSWORD" > "{tmp_path}/{tool}.password"\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
    with_password = database_url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://postgres:{password}@")
    assert password in with_password
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    file = tmp_path / "pw.backup"

    def cli(url, *args):
        return subprocess.run([str(BIOBANK), *args], env=dict(env, DATABASE_URL=url, BIOBANK_INSTANCE_PATH=str(tmp_path)),
                              capture_output=True, text=True, timeout=300)

    made = cli(with_password, "backup", str(file))
    assert made.returncode == 0, made.stderr
    target, drop = _empty_database("postgres", tmp_path)
    try:
        restored = cli(target.replace("postgres@", f"postgres:{password}@"), "restore", str(file))
        assert restored.returncode == 0, restored.stderr
    finally:
        drop()
    for tool in ("pg_dump", "pg_restore"):
        argv = (tmp_path / f"{tool}.argv").read_text()
        assert "--dbname" in argv and password not in argv, (tool, argv)
        assert (tmp_path / f"{tool}.password").read_text() == password  # it still reached the tool
