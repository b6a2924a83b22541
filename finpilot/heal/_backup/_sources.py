"""Consistent snapshots of what a backup holds: SQLite via the online backup API, PostgreSQL via pg_dump.

Both are safe while writers run: SQLite's backup copies every page inside one read
transaction (WAL readers never block writers), and pg_dump reads one MVCC snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg

from finpilot.core import NotFoundError, StorageError

SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_sqlite(path: Path) -> bool:
    """True when the file is a SQLite database (asked through SQLite, never a plain open)."""
    # Closing any descriptor of a file drops every POSIX lock this process holds on it: a plain
    # open() of the ledger's own database from the process that has it open (the backup
    # scheduler in `runtime up`) silently dropped SQLite's locks, and another process then
    # deleted the WAL that later appends still went to. SQLite defers such closes itself.
    try:
        if path.stat().st_size < len(SQLITE_MAGIC):
            return False
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
        return True
    except (OSError, sqlite3.Error):
        return False


def find_sqlite(data_dir: Path) -> list[Path]:
    """The SQLite databases directly in the data directory (the ledger's ``finpilot.db`` among them)."""
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if p.suffix in _SQLITE_SUFFIXES and p.is_file() and is_sqlite(p))


def snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API into a self-contained file."""
    try:
        src = sqlite3.connect(source, timeout=60)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {source} for backup: {exc}") from None
    try:
        dst = sqlite3.connect(target)
        try:
            # One step (pages=-1): the whole copy runs in one read transaction, so it is one
            # consistent snapshot however fast writers append meanwhile.
            src.backup(dst, pages=-1)
            # The copy inherits WAL mode; switch it back so the file stands alone, with no -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StorageError(f"SQLite backup of {source} failed: {exc}") from None
    finally:
        src.close()


def redact_dsn(dsn: str) -> str:
    """A DSN without its password, for manifests, audit entries and errors."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable DSN)"
    return (
        f"postgresql://{info.get('user', '')}@{info.get('host', 'localhost')}:{info.get('port', 5432)}"
        f"/{info.get('dbname', '')}"
    )


def pg_env(dsn: str) -> dict[str, str]:
    """The environment that points libpq tools at ``dsn``, so no password ever shows in a command line."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",  # libpq's variable name, not a secret  # nosec B105
        "dbname": "PGDATABASE",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in info.items():
        if key in names and value is not None:
            env[names[key]] = str(value)
    return env


def pg_binary(name: str, configured: Path | None = None) -> Path:
    """``pg_dump``/``pg_restore``: beside the configured pg_dump, else the newest /usr/lib/postgresql, else PATH."""
    if configured is not None:
        candidate = configured if name == "pg_dump" else configured.with_name(name)
        if candidate.is_file():
            return candidate
        raise NotFoundError(f"{candidate} does not exist", field="backup.pg_dump", fix="point it at a pg_dump binary")
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / name).is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1] / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise NotFoundError(
        f"{name} was not found", field="backup.pg_dump", fix="install the PostgreSQL client or set backup.pg_dump"
    )


def run_pg_tool(argv: list[str], dsn: str, *, timeout_s: float = 600) -> None:
    """Run a libpq tool against ``dsn``; raise ``StorageError`` with its stderr (which holds no password)."""
    try:
        result = subprocess.run(argv, env=pg_env(dsn), capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StorageError(f"{Path(argv[0]).name} failed to run: {type(exc).__name__}") from None
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise StorageError(
            f"{Path(argv[0]).name} against {redact_dsn(dsn)} exited {result.returncode}: {detail[0]}",
            fix="check that PostgreSQL is reachable and the role may read the schema",
        )


def dump_postgres(dsn: str, schema: str, target: Path, pg_dump: Path) -> None:
    """``pg_dump`` one schema in custom format (compressed by us later, so no compression here)."""
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    run_pg_tool(
        [str(pg_dump), "--format=custom", "--compress=0", "--no-owner", f"--schema={schema}", f"--file={target}"],
        dsn,
    )
