"""Backup and restore of the whole inventory.

SQLite: the online backup API (sqlite3.Connection.backup) copies a consistent
snapshot while the app keeps running; the file it writes is itself a SQLite
database. PostgreSQL: `pg_dump -Fc` / `pg_restore` (custom format), refused
when the client tools are older than the server.

A restore only goes into an empty database (no tables), so it can never mix a
backup into a live inventory; it checks the custody chain afterwards.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from ..extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class BackupInfo:
    path: Path
    backend: str
    size: int


def _url():
    # the engine's URL object itself: str() of it would read the password as "***"
    return make_url(db.engine.url)


def backend_name() -> str:
    return db.engine.dialect.name


def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:":
        raise BackupError(_("An in-memory SQLite database cannot be backed up or restored."))
    return Path(database)


def _libpq_url() -> str:
    """The SQLAlchemy URL as a libpq connection string for pg_dump / pg_restore, without its password:
    a command line is visible to every local user (ps, /proc), so the password goes by environment."""
    url = _url()
    query = {key: value for key, value in url.query.items() if key.lower() != "password"}
    # URL.set(password=None) would keep the password ("None" means unchanged there): build it anew
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                      query=query)
    return bare.render_as_string(hide_password=False)


def _pg_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    url = _url()
    password = url.password if url.password is not None else url.query.get("password")
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if not found:
        raise BackupError(_("%(tool)s is not installed; install the PostgreSQL client tools.", tool=name))
    return found


def _major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if not match:
        raise BackupError(_("Cannot read a version from %(text)s.", text=repr(version_text)))
    return int(match.group(1))


def _check_pg_tool_version(tool: str) -> None:
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)": the first number after the product name
    client = _major(output.split("(PostgreSQL)", 1)[-1])
    with db.engine.connect() as connection:
        server = int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    if client < server:
        raise BackupError(_("%(tool)s is version %(client)s but the server is PostgreSQL %(server)s; "
                            "install the client tools of version %(server)s or newer.", tool=Path(tool).name,
                            client=client, server=server))


def _tables() -> list[str]:
    db.session.remove()
    return inspect(db.engine).get_table_names()


def backup(target: Path) -> BackupInfo:
    """Write a backup of the configured database to `target` (replaced atomically)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkstemp(prefix=".backup-", dir=target.parent)[1])
    try:
        if backend_name() == "sqlite":
            source_path = _sqlite_path()
            if not source_path.exists():
                raise BackupError(_("There is no database at %(path)s.", path=source_path))
            tmp.unlink()
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
            copy = sqlite3.connect(tmp)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                copy.close()
                source.close()
        elif backend_name() == "postgresql":
            tool = _tool("pg_dump")
            _check_pg_tool_version(tool)
            result = subprocess.run([tool, "--format=custom", "--no-owner", "--no-privileges",
                                     "--file", str(tmp), "--dbname", _libpq_url()],
                                    capture_output=True, text=True, env=_pg_env())
            if result.returncode != 0:
                raise BackupError(_("pg_dump failed: %(error)s", error=result.stderr.strip()))
        else:
            raise BackupError(_("Backups of %(backend)s databases are not supported.", backend=backend_name()))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupInfo(target, backend_name(), target.stat().st_size)


def _kind_of(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(_("%(path)s is not a biobank backup (neither a SQLite database nor a pg_dump custom archive).",
                        path=path))


def restore(source: Path) -> None:
    """Restore a backup into the configured database, which must be empty (no tables)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(_("There is no backup file at %(path)s.", path=source))
    kind, here = _kind_of(source), backend_name()
    if kind != here:
        raise BackupError(_("%(file)s is a %(kind)s backup; the configured database is %(here)s. "
                            "Restore it into a database of the same kind.", file=source.name, kind=kind, here=here))
    tables = _tables()
    if tables:
        raise BackupError(_("The target database is not empty (%(count)s tables); "
                            "restore only into a new, empty database.", count=len(tables)))
    db.engine.dispose()
    if here == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(_("%(file)s is damaged: %(problem)s", file=source.name, problem=check))
            names = {r[0] for r in backup_db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"custody_event", "sample", "alembic_version"} <= names:
                raise BackupError(_("%(file)s is a SQLite database but not a biobank backup.", file=source.name))
            target = sqlite3.connect(_sqlite_path())
            try:
                backup_db.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
        finally:
            backup_db.close()
    else:
        tool = _tool("pg_restore")
        _check_pg_tool_version(tool)
        result = subprocess.run([tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                                 "--dbname", _libpq_url(), str(source)],
                                capture_output=True, text=True, env=_pg_env())
        if result.returncode != 0:
            raise BackupError(_("pg_restore failed (nothing was restored): %(error)s", error=result.stderr.strip()))
    db.engine.dispose()
