"""Faults: a process killed in the middle of a large import, and a database that goes away."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from biobank import create_app
from biobank.auth.service import issue_token
from biobank.extensions import db

from .conftest import chain_ok, events, idle, samples

ROWS = 50_000
BIOBANK = Path(sys.executable).with_name("biobank")


def _csv(path: Path) -> Path:
    lines = ["barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode"]
    lines += [f"KILL-{i:06d},plasma,D{i % 997:04d},2024-05-01T10:00:00Z,1.0,mL,C50.9,C50.9," for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _writing_started(database_url: str, backend: str):
    """A probe: True once the import has begun to write sample rows (not only to read and check)."""
    if backend == "sqlite":
        wal = Path(database_url.split("sqlite:///", 1)[1] + "-wal")
        start = wal.stat().st_size if wal.exists() else 0
        return lambda: wal.exists() and wal.stat().st_size > start + 2_000_000
    engine = create_engine(database_url)
    name = database_url.rsplit("/", 1)[1]

    def probe():
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND state = 'active' "
                "AND (query ILIKE 'INSERT INTO sample %' OR query ILIKE 'COPY sample %')"), {"d": name}).scalar())
    return probe


def test_killing_an_import_while_it_writes_leaves_nothing(app, make, backend, database_url, tmp_path):
    make.tank(racks=10, boxes_per_rack=20, rows=16, cols=16, name="Kill tank")  # 51,200 positions
    before_events = events()
    idle()
    env = dict(os.environ, DATABASE_URL=database_url, BIOBANK_INSTANCE_PATH=str(tmp_path))
    probe = _writing_started(database_url, backend)
    process = subprocess.Popen([str(BIOBANK), "import", "samples", str(_csv(tmp_path / "big.csv"))], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while process.poll() is None and not probe() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the import ended before it was seen writing: " + \
            process.stderr.read().decode()[-500:]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    db.session.rollback()
    db.session.remove()
    assert samples() == 0
    assert events() == before_events
    assert chain_ok()
    # the inventory is usable at once: nothing left locked or half-written
    make.sample("AFTER-KILL")
    assert samples() == 1 and chain_ok()


# -- the database goes away ---------------------------------------------------------------------
class _Gate:
    """A TCP forwarder in front of PostgreSQL that can be closed (cutting every connection) and
    opened again on the same port."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener, self.conns = None, []

    def open(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.listener.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self.conns = []

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


def _check_unavailable_then_recovered(client, token, make_unavailable, make_available):
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/samples", headers=auth).status_code == 200
    make_unavailable()
    for call in (lambda: client.get("/api/v1/samples", headers=auth),
                 lambda: client.post("/api/v1/samples", headers=auth, json={"barcode": "DOWN-1",
                                                                           "sample_type": "plasma"})):
        response = call()
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.json["code"] == "database_unavailable"
        assert "database cannot be reached" in response.json["message"]
    make_available()
    back = client.get("/api/v1/samples", headers=auth)
    assert back.status_code == 200 and back.json["total"] == 1


@pytest.mark.postgres
def test_postgres_unreachable_gives_503_and_the_app_recovers(app, make, database_url):
    make.sample("UP-1", box=make.box(), position="A1")
    token = issue_token(make._user_of("technician"), 1)[0]
    idle()
    gate = _Gate()
    gate.open()
    url = database_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{gate.port}/")
    gated = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True,
                                                      "connect_args": {"connect_timeout": 3}}})
    try:
        _check_unavailable_then_recovered(gated.test_client(), token, gate.close, gate.open)
    finally:
        gate.close()
        with gated.app_context():
            db.engine.dispose()


@pytest.mark.postgres
def test_nothing_listening_on_the_database_port_gives_503(app):
    dead = create_app({"TESTING": True,
                       "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}}})
    response = dead.test_client().get("/api/v1/samples", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 503 and response.json["code"] == "database_unavailable"


@pytest.mark.sqlite_only  # the SQLite counterpart of the PostgreSQL outage above
def test_sqlite_file_out_of_reach_gives_503_and_the_app_recovers(app, tmp_path):
    """The database's directory disappears (an unmounted volume, a moved folder): every call
    answers 503 and changes nothing; once it is back, the app serves again without a restart."""
    from biobank.core import databases
    from biobank.core.actor import system_actor
    from biobank.auth.service import create_user
    from biobank.samples import service as samples
    from biobank.storage import service as storage
    folder = tmp_path / "volume"
    folder.mkdir()
    url = f"sqlite:///{folder / 'biobank.sqlite3'}"
    databases.migrate(url)
    own = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with own.app_context():
        admin = system_actor("setup")
        box = storage.create_container(admin, name="Box", kind="box", rows=2, cols=2)
        samples.register_sample(admin, barcode="UP-1", sample_type="plasma",
                                location={"container_id": box.id, "position": "A1"})
        token = issue_token(create_user(admin, "tech-out", "tech-out-password-1", "technician"), 1)[0]
        db.session.commit()
    away = tmp_path / "unmounted"

    def unmount():
        folder.rename(away)
        with own.app_context():
            db.engine.dispose()  # open connections would still hold the old file

    try:
        _check_unavailable_then_recovered(own.test_client(), token, unmount, lambda: away.rename(folder))
    finally:
        if away.exists():
            away.rename(folder)
        with own.app_context():
            db.engine.dispose()
    with own.app_context():
        assert db.session.execute(text("SELECT count(*) FROM sample")).scalar_one() == 1



def _immutable(path: Path, on: bool) -> str | None:
    """chattr +i / -i: not even root may open the file for writing (None when done, else why not)."""
    try:
        result = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True, text=True)
    except FileNotFoundError:
        return "chattr (e2fsprogs) is not installed"
    return None if result.returncode == 0 else f"chattr cannot mark files here: {result.stderr.strip()}"


@pytest.mark.sqlite_only
def test_sqlite_file_unwritable_for_a_while_then_writable_again_needs_no_restart(app, tmp_path):
    """The database file turns read-only (a permission change, a read-only remount) while the app
    runs, and connections are opened meanwhile (a new worker, a pool refill): SQLite opens them
    read-only without a word. Writes and logins answer 503 and change nothing; once the file is
    writable again they work at once, without a restart."""
    from biobank.auth.service import create_user
    from biobank.core import databases
    from biobank.core.actor import system_actor
    database = tmp_path / "biobank.sqlite3"
    url = f"sqlite:///{database}"
    databases.migrate(url)
    own = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with own.app_context():
        from biobank.storage import service as storage
        storage.create_container(system_actor("setup"), name="Box", kind="box", rows=2, cols=2)
        create_user(system_actor("setup"), "tech-ro", "tech-ro-password-1", "technician")
        db.session.commit()
    client = own.test_client()

    def login():
        return client.post("/api/v1/auth/token", json={"username": "tech-ro", "password": "tech-ro-password-1"})

    def register(barcode, token):
        return client.post("/api/v1/samples", json={"barcode": barcode, "sample_type": "plasma"},
                           headers={"Authorization": f"Bearer {token}"})

    token = login().json["token"]
    assert register("RO-1", token).status_code == 201
    reason = _immutable(database, True)
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        with own.app_context():
            db.engine.dispose()  # the next requests open new connections, as a new worker would
        for attempt in range(3):
            answer = register(f"RO-X{attempt}", token)
            assert answer.status_code == 503 and answer.json["code"] == "database_unavailable", answer.json
        assert login().status_code == 503
    finally:
        _immutable(database, False)
    answer = register("RO-2", token)
    assert answer.status_code == 201, answer.json
    assert login().status_code == 200
    with own.app_context():
        barcodes = db.session.execute(text("SELECT barcode FROM sample ORDER BY barcode")).scalars().all()
        db.session.remove()
        db.engine.dispose()
    assert barcodes == ["RO-1", "RO-2"]


def test_an_import_that_cannot_fit_is_refused_without_taking_the_write_lock(app, make, backend, database_url,
                                                                            api):
    """More rows to place than free positions: refused at once from two numbers. On SQLite the refusal
    does not wait for the write lock, so another technician writing meanwhile is not blocked (and the
    import is not left waiting for them either)."""
    import sqlite3
    make.box(rows=2, cols=3)  # 6 free positions
    tech = api("technician")
    header = "barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode"
    text = header + "\n" + "".join(f"FIT-{i:05d},plasma,D1,,,,,,\n" for i in range(2_000))
    before = samples(), events()
    idle()
    other = None
    if backend == "sqlite":  # someone else holds SQLite's write lock for the whole call
        other = sqlite3.connect(database_url.split("sqlite:///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        refused = tech.post("/samples/import", data=text.encode(), content_type="text/csv")
        took = time.monotonic() - started
    finally:
        if other is not None:
            other.rollback()
            other.close()
    assert refused.status_code == 422 and refused.json["code"] == "import_rejected", refused.json
    assert "No box has room for 1,994 of the 2,000 samples" in refused.json["message"]
    assert "6 free positions" in refused.json["message"]
    assert [d["line"] for d in refused.json["details"]] == list(range(8, 2002))
    assert took < 20, took  # the busy timeout is 30 s: it never waited for the lock
    assert (samples(), events()) == before
    # a file that fits goes in as before
    fits = tech.post("/samples/import", data=(header + "\nFIT-OK,plasma,D1,,,,,,\n").encode(),
                     content_type="text/csv")
    assert fits.status_code == 201 and fits.json["imported"] == 1, fits.json
