"""One PostgreSQL server of the HA pair: its files, its config, and a cheap health probe.

The node's own settings (port, and the upstream it streams from when it is a standby) live in
``finpilot.conf`` inside the data directory. pg_basebackup and pg_rewind copy that file from the
source server, so it is rewritten for the node every time its data directory is rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.abc import Query

_COMMON = """\
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '512MB'
hot_standby = on
wal_log_hints = on
synchronous_commit = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 500ms
shared_buffers = '32MB'
max_connections = 50
logging_collector = off
"""

_HBA = """\
# Written by finpilot: the pair listens on 127.0.0.1 only.
local all all peer
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


@dataclass(frozen=True)
class PgNode:
    """A server of the pair: its name (also its replication ``application_name``), port and directories."""

    name: str
    port: int
    base_dir: Path
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self.base_dir / self.name

    @property
    def log_file(self) -> Path:
        """Server log, kept outside PGDATA so pg_rewind and pg_basebackup leave it alone."""
        return self.base_dir / f"{self.name}.log"

    def conninfo(self, user: str, dbname: str, *, timeout_s: float = 2) -> str:
        """A libpq key/value string for this server alone."""
        # libpq rounds connect_timeout below 2 up to 2 anyway; say so explicitly.
        return (
            f"host={self.host} port={self.port} user={user} dbname={dbname} connect_timeout={max(2, round(timeout_s))}"
        )

    def postmaster_pid(self) -> int | None:
        """The PID recorded in ``postmaster.pid``, if that process still exists."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
            pid = int(first)
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def write_config(self, *, upstream: PgNode | None, superuser: str, own: Callable[[Path], None]) -> None:
        """Write ``finpilot.conf``, ``pg_hba.conf`` and, for a standby, ``standby.signal``."""
        lines = [_COMMON, f"port = {self.port}\n", f"cluster_name = '{self.name}'\n"]
        if upstream is not None:
            conninfo = (
                f"host=127.0.0.1 port={upstream.port} user={superuser} application_name={self.name} connect_timeout=2"
            )
            lines.append(f"primary_conninfo = '{conninfo}'\n")
            lines.append("recovery_target_timeline = 'latest'\n")
        _write(self.data_dir / "finpilot.conf", "".join(lines), own)
        _write(self.data_dir / "pg_hba.conf", _HBA, own)
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        if "include_if_exists = 'finpilot.conf'" not in text:
            _write(conf, text + "\ninclude_if_exists = 'finpilot.conf'\n", own)
        signal = self.data_dir / "standby.signal"
        if upstream is not None:
            _write(signal, "", own)
        else:
            signal.unlink(missing_ok=True)


def _write(path: Path, text: str, own: Callable[[Path], None]) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    own(path)


@dataclass(frozen=True)
class Probe:
    """What one health check saw."""

    node: str
    ok: bool
    in_recovery: bool | None = None
    lsn: str | None = None
    error: str | None = None
    took_ms: float = 0.0


def probe(node: PgNode, user: str, dbname: str, timeout_s: float) -> Probe:
    """Connect, ask ``pg_is_in_recovery()`` and the current LSN; never raises."""
    start = time.perf_counter()
    try:
        with psycopg.connect(
            node.conninfo(user, dbname, timeout_s=timeout_s),
            autocommit=True,
            options=f"-c statement_timeout={int(timeout_s * 1000)}",
        ) as conn:
            row: Any = conn.execute(
                "SELECT pg_is_in_recovery(), "
                "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text"
            ).fetchone()
    except psycopg.Error as exc:
        return Probe(node.name, False, error=type(exc).__name__, took_ms=(time.perf_counter() - start) * 1000)
    return Probe(node.name, True, bool(row[0]), row[1], took_ms=(time.perf_counter() - start) * 1000)


def query(node: PgNode, user: str, dbname: str, sql: Query, *, timeout_s: float = 5) -> list[tuple[Any, ...]]:
    """Run one statement on one server (autocommit) and return its rows, if any."""
    with psycopg.connect(
        node.conninfo(user, dbname, timeout_s=timeout_s),
        autocommit=True,
        options=f"-c statement_timeout={int(timeout_s * 1000)}",
    ) as conn:
        cur = conn.execute(sql)
        return list(cur.fetchall()) if cur.description else []


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: a crashed postmaster may wait unreaped under PID 1)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split(" ", 1)[0] not in ("Z", "X")
