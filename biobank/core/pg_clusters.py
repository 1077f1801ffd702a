"""A private PostgreSQL primary and its streaming replica, for the test suite and the benchmarks.

The primary is a fresh cluster (initdb) on a free port; the replica is a
`pg_basebackup` of it, started as a hot standby on another port. Both run as
the `postgres` system user when started by root (PostgreSQL refuses root), in a
folder of their own that `stop()` removes.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from .ports import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """None when a primary/replica pair can be started here, else a one-line reason."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_basebackup").exists():
        return "PostgreSQL's server programs (initdb, pg_basebackup) are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to start PostgreSQL as the postgres user"
    return None


class ReplicaPair:
    def __init__(self):
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="biobank-pg-"))
        self.primary_dir, self.replica_dir = self.root / "primary", self.root / "replica"
        self.primary_port, self.replica_port = free_port(), free_port()

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> "ReplicaPair":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "-A", "trust", "--no-sync")
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nwal_level = replica\nmax_wal_senders = 4\n"
                       "fsync = off\nfull_page_writes = off\n")
        with open(self.primary_dir / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self._run("pg_ctl", "-D", str(self.primary_dir), "-l", str(self.root / "primary.log"), "-w", "start")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                  "-D", str(self.replica_dir), "-R", "-X", "stream", "--no-sync")
        self.start_replica()
        return self

    def start_replica(self) -> None:
        self._run("pg_ctl", "-D", str(self.replica_dir), "-l", str(self.root / "replica.log"),
                  "-o", f"-p {self.replica_port}", "-w", "start")

    def url(self, which: str, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"{driver}://postgres@127.0.0.1:{port}/{database}"

    def connect(self, which: str, database: str = "postgres"):
        return psycopg.connect(self.url(which, database, "postgresql"), autocommit=True, connect_timeout=3)

    def create_database(self, name: str) -> None:
        with self.connect("primary") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with self.connect("primary") as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect("replica") as replica:
            while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise TimeoutError("the replica did not catch up")
                time.sleep(0.05)

    def pause_replay(self) -> None:
        with self.connect("replica") as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connect("replica") as replica:
            replica.execute("SELECT pg_wal_replay_resume()")

    def stop_replica(self) -> None:
        self._run("pg_ctl", "-D", str(self.replica_dir), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
                except subprocess.CalledProcessError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)
