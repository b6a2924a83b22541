"""A PostgreSQL primary and synchronous streaming standby, built from this machine's binaries.

The pair's state (which node is primary, which is fenced) lives in ``cluster.json`` beside the
data directories, outside PGDATA, because pg_rewind and pg_basebackup rewrite PGDATA. A fenced
node is never started again as it was: only :meth:`PgCluster.rejoin` brings it back, as a standby.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Query

from finpilot.core import ConfigError, DbHaSettings, NotFoundError, Settings, StorageError
from finpilot.heal._db._node import PgNode, Probe, probe, query
from finpilot.heal._db._proc import PgRunner, find_bin_dir

NODE_NAMES = ("pg_a", "pg_b")
"""The two servers' names; each is also its replication ``application_name``."""


def ha_dsn(ports: list[int], user: str, dbname: str, *, connect_timeout_s: int = 2) -> str:
    """A libpq multi-host URL that always lands on the writable server, whichever that is now."""
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
    return f"postgresql://{user}@{hosts}/{dbname}?target_session_attrs=read-write&connect_timeout={connect_timeout_s}"


class PgCluster:
    """The HA pair under ``base_dir``: init, start, stop, status, fence, promote, rejoin."""

    def __init__(self, ha: DbHaSettings, base_dir: Path) -> None:
        self.ha = ha
        self.base_dir = base_dir
        self.runner = PgRunner(find_bin_dir(ha.bin_dir), ha.os_user)
        self._state_file = base_dir / "cluster.json"

    # State ------------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        """Whether ``init`` has completed here."""
        return self._state_file.is_file()

    def state(self) -> dict[str, Any]:
        """The recorded state: nodes and ports, the primary, fenced nodes, the failover count."""
        try:
            data: dict[str, Any] = json.loads(self._state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(
                f"no HA database under {self.base_dir}", fix="create it with `finpilot db init --ha`"
            ) from None
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read {self._state_file}: {exc}") from None
        return data

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._state_file)

    def update_state(self, **changes: Any) -> dict[str, Any]:
        """Change recorded fields atomically and return the new state."""
        data = self.state()
        data.update(changes)
        self._save(data)
        return data

    def node(self, name: str) -> PgNode:
        """One node by name, with its recorded port."""
        ports = self.state()["ports"]
        if name not in ports:
            raise NotFoundError(f"no database node {name!r}", fix=f"use one of {', '.join(sorted(ports))}")
        return PgNode(name, int(ports[name]), self.base_dir)

    def primary(self) -> PgNode:
        """The node recorded as primary."""
        return self.node(self.state()["primary"])

    def standby(self) -> PgNode:
        """The other node."""
        primary = self.state()["primary"]
        return self.node(next(n for n in NODE_NAMES if n != primary))

    def fenced(self) -> set[str]:
        """Nodes fenced after a failure and not yet rejoined."""
        return set(self.state().get("fenced", []))

    def dsn(self) -> str:
        """The clients' multi-host DSN (``target_session_attrs=read-write``)."""
        ports = self.state()["ports"]
        return ha_dsn([int(ports[n]) for n in NODE_NAMES], self.ha.superuser, self.ha.database)

    # Building ---------------------------------------------------------------------------

    def _prepare_base(self) -> None:
        try:
            self.base_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.base_dir}: {exc.strerror}", fix="set db.ha.base_dir") from None
        self.runner.own(self.base_dir)
        self.base_dir.chmod(0o700)
        if not self.runner.can_write(self.base_dir):
            raise ConfigError(
                f"the {self.ha.os_user} OS user cannot write {self.base_dir} (a parent directory is not searchable)",
                fix="set db.ha.base_dir to a directory that user can reach, e.g. under /var/lib or /tmp",
            )

    def init(self) -> dict[str, Any]:
        """initdb the primary, start it, clone the standby with pg_basebackup, and make replication synchronous."""
        if self.initialised:
            raise ConfigError(
                f"an HA database already exists under {self.base_dir}",
                fix="use `finpilot db up` to start it, or remove that directory to start over",
            )
        self._prepare_base()
        a = PgNode(NODE_NAMES[0], self.ha.primary_port, self.base_dir)
        b = PgNode(NODE_NAMES[1], self.ha.standby_port, self.base_dir)
        started = time.monotonic()
        # Checksums let pg_rewind rebuild a crashed primary instead of copying everything.
        self.runner.run(
            "initdb",
            "-D",
            str(a.data_dir),
            "-U",
            self.ha.superuser,
            "--data-checksums",
            "--auth-local=peer",
            "--auth-host=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        a.write_config(upstream=None, superuser=self.ha.superuser, own=self.runner.own)
        self._save({"ports": {a.name: a.port, b.name: b.port}, "primary": a.name, "fenced": [], "failovers": 0})
        self.start_node(a)
        self.clone(b, a)
        self.start_node(b)
        self.wait_streaming(a, b)
        self.set_sync(a, b.name)
        self.wait_streaming(a, b, sync=True)
        return {"primary": a.name, "standby": b.name, "dsn": self.dsn(), "took_s": round(time.monotonic() - started, 3)}

    def clone(self, node: PgNode, source: PgNode) -> None:
        """Rebuild ``node`` from scratch as a standby of ``source`` (pg_basebackup)."""
        shutil.rmtree(node.data_dir, ignore_errors=True)
        self.runner.run(
            "pg_basebackup",
            "-D",
            str(node.data_dir),
            "-d",
            source.conninfo(self.ha.superuser, "postgres"),
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            timeout_s=600,
        )
        node.write_config(upstream=source, superuser=self.ha.superuser, own=self.runner.own)

    # Running ----------------------------------------------------------------------------

    def start_node(self, node: PgNode) -> None:
        """pg_ctl start, waiting until the server accepts connections."""
        if node.postmaster_pid() is not None:
            return
        self._kill(node)  # what a crash left behind: orphaned backends, a stale pid file
        log = node.log_file
        log.touch(exist_ok=True)
        self.runner.own(log)
        self.runner.run("pg_ctl", "start", "-D", str(node.data_dir), "-l", str(log), "-w", "-t", "60", timeout_s=90)

    def stop_node(self, node: PgNode, *, mode: str = "fast") -> None:
        """pg_ctl stop (no-op when it is not running)."""
        if node.postmaster_pid() is None:
            return
        self.runner.run("pg_ctl", "stop", "-D", str(node.data_dir), "-m", mode, "-w", "-t", "60", timeout_s=90)

    def start(self) -> dict[str, Any]:
        """Start the primary, then the standby; a fenced node stays down until it is rejoined."""
        state = self.state()
        fenced = set(state.get("fenced", []))
        primary = self.primary()
        self.start_node(primary)
        standby = self.standby()
        if standby.name not in fenced:
            self.start_node(standby)
        return {"primary": primary.name, "standby": standby.name, "fenced": sorted(fenced)}

    def stop(self) -> None:
        """Stop both servers cleanly."""
        for name in NODE_NAMES:
            self.stop_node(self.node(name))

    def probe(self, node: PgNode) -> Probe:
        """One health check of ``node``."""
        return probe(node, self.ha.superuser, "postgres", self.ha.check_timeout_s)

    def sql(self, node: PgNode, statement: Query, *, timeout_s: float = 10) -> list[tuple[Any, ...]]:
        """Run one statement on ``node`` as the superuser."""
        return query(node, self.ha.superuser, "postgres", statement, timeout_s=timeout_s)

    def replication(self, primary: PgNode) -> list[dict[str, Any]]:
        """``pg_stat_replication`` on ``primary``: standby name, state, sync state, lag in bytes."""
        rows = self.sql(
            primary,
            "SELECT application_name, state, sync_state, "
            "COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint FROM pg_stat_replication",
        )
        return [{"name": r[0], "state": r[1], "sync_state": r[2], "lag_bytes": int(r[3])} for r in rows]

    def wait_streaming(self, primary: PgNode, standby: PgNode, *, timeout_s: float = 60, sync: bool = False) -> float:
        """Wait until ``standby`` streams from ``primary`` (and is ``sync`` when asked); return seconds waited."""
        start = time.monotonic()
        while True:
            try:
                rows = self.replication(primary)
            except (StorageError, psycopg.Error):
                rows = []  # the primary may still be starting; keep waiting until the deadline
            for row in rows:
                streaming = row["name"] == standby.name and row["state"] == "streaming"
                if streaming and (not sync or row["sync_state"] == "sync"):
                    return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise StorageError(
                    f"{standby.name} is not streaming from {primary.name} after {timeout_s:g} s",
                    fix=f"see {standby.log_file}",
                )
            time.sleep(0.1)

    def set_sync(self, primary: PgNode, standby_name: str | None) -> None:
        """Name the synchronous standby on ``primary``, or relax to asynchronous with ``None``."""
        names = f'"{standby_name}"' if standby_name else ""
        self.sql(primary, sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(sql.Literal(names)))
        self.sql(primary, "SELECT pg_reload_conf()")
        self.update_state(sync=standby_name)

    def status(self) -> dict[str, Any]:
        """Each node's role, reachability and LSN, the replication view from the primary, and the DSN."""
        state = self.state()
        nodes: dict[str, Any] = {}
        for name in NODE_NAMES:
            node = self.node(name)
            seen = self.probe(node)
            role = "down" if not seen.ok else ("standby" if seen.in_recovery else "primary")
            nodes[name] = {
                "port": node.port,
                "pid": node.postmaster_pid(),
                "role": role,
                "recorded": "primary" if name == state["primary"] else "standby",
                "fenced": name in state.get("fenced", []),
                "lsn": seen.lsn,
                "error": seen.error,
            }
        replication: list[dict[str, Any]] = []
        primary = self.primary()
        if nodes[primary.name]["role"] == "primary":
            replication = self.replication(primary)
        return {
            "primary": state["primary"],
            "failovers": state.get("failovers", 0),
            "nodes": nodes,
            "replication": replication,
            "dsn": self.dsn(),
        }

    # Failover steps ---------------------------------------------------------------------

    def fence(self, node: PgNode) -> dict[str, Any]:
        """Kill ``node``'s postmaster and every backend left behind, and record that it must not run as primary.

        pg_ctl starts the postmaster in its own session, so its process group holds every
        backend; orphans of a crashed postmaster would otherwise keep PGDATA's shared memory.
        """
        self.update_state(fenced=sorted(self.fenced() | {node.name}))
        pid = node.postmaster_pid()
        return {"node": node.name, "port": node.port, "pid": pid or _pgid_from_pidfile(node), **self._kill(node)}

    def _kill(self, node: PgNode) -> dict[str, Any]:
        """SIGKILL every postgres process of ``node``'s process group, and drop the then stale pid file."""
        pgid = _pgid_from_pidfile(node)
        killed = 0
        deadline = time.monotonic() + 10
        while pgid:
            members = _postgres_in_group(pgid)
            if not members or time.monotonic() > deadline:
                break
            for member in members:
                try:
                    os.kill(member, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        if pgid and not _postgres_in_group(pgid):
            # A zombie postmaster (unreaped under PID 1) would make pg_ctl think the server still runs.
            (node.data_dir / "postmaster.pid").unlink(missing_ok=True)
        return {"killed_processes": killed}

    def promote(self, node: PgNode) -> dict[str, Any]:
        """Make ``node`` the primary; replication is relaxed first, since it has no standby to wait for."""
        started = time.monotonic()
        self.set_sync(node, None)
        before = self.probe(node).lsn
        rows = self.sql(node, "SELECT pg_promote(true, 30)", timeout_s=35)
        if not rows or not rows[0][0]:
            raise StorageError(f"{node.name} did not finish promotion within 30 s", fix=f"see {node.log_file}")
        data = self.state()
        self.update_state(primary=node.name, failovers=int(data.get("failovers", 0)) + 1)
        after = self.probe(node)
        return {
            "node": node.name,
            "port": node.port,
            "replay_lsn": before,
            "lsn": after.lsn,
            "promote_ms": round((time.monotonic() - started) * 1000, 1),
        }

    def rejoin(self, node: PgNode, primary: PgNode) -> dict[str, Any]:
        """Bring a fenced node back as a standby of ``primary``: pg_rewind, else a fresh pg_basebackup."""
        started = time.monotonic()
        self.fence(node)  # rewind needs every old process gone, whatever state the node was left in
        # The new timeline reaches pg_control only at a checkpoint; pg_rewind reads it from there.
        self.sql(primary, "CHECKPOINT", timeout_s=60)
        method = "rewind"
        rewind_error = None
        try:
            self.runner.run(
                "pg_rewind",
                "--target-pgdata",
                str(node.data_dir),
                "--source-server",
                primary.conninfo(self.ha.superuser, "postgres"),
                "--no-sync",
                timeout_s=300,
            )
            node.write_config(upstream=primary, superuser=self.ha.superuser, own=self.runner.own)
        except StorageError as exc:
            method, rewind_error = "basebackup", str(exc)[:300]
            self.clone(node, primary)
        self.start_node(node)
        waited = self.wait_streaming(primary, node)
        self.update_state(fenced=sorted(self.fenced() - {node.name}))
        return {
            "node": node.name,
            "port": node.port,
            "primary": primary.name,
            "method": method,
            "rewind_error": rewind_error,
            "stream_wait_s": round(waited, 3),
            "took_s": round(time.monotonic() - started, 3),
        }


def _pgid_from_pidfile(node: PgNode) -> int | None:
    # The pid file outlives a SIGKILLed postmaster; its PID is the group id of its orphaned backends.
    try:
        return int((node.data_dir / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _postgres_in_group(pgid: int) -> list[int]:
    # Only processes named postgres in that group: a stale pid file's number may since belong to anything.
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        comm_end = stat.rfind(")")
        comm = stat[stat.find("(") + 1 : comm_end]
        fields = stat[comm_end + 2 :].split()
        # fields[0] is the state, [1] the parent, [2] the process group.
        if comm == "postgres" and len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def pg_cluster_for(settings: Settings) -> PgCluster:
    """The HA pair the settings describe (``db.ha.base_dir``, else ``pg/`` in the data directory)."""
    ha = settings.db.ha
    return PgCluster(ha, ha.base_dir or Path(settings.data_dir) / "pg")
