"""``db-primary-down`` in the chaos drill: payments on a PostgreSQL HA pair, the primary killed under traffic.

The drill builds a scratch pair (:class:`DrillDbPair`: initdb, pg_basebackup, synchronous
replication, on free ports under ``/tmp`` so that the ``postgres`` OS user can reach it when the
drill runs as root), runs the :class:`~finpilot.heal.DbHealer` beside the runtime, and starts the
payments replicas with ``PAYMENTS_DSN`` set *by reference* (a ServiceSpec secret naming a host
environment variable), so the DSN is on no command line and in no log.

Each trial SIGKILLs the primary's postmaster (:func:`~finpilot.heal.kill_primary`, which audits
the ``chaos.inject`` first). From the audit log and the traffic record:

* **detection**: ``chaos.inject`` -> the healer's ``db.fence`` of that node;
* **writes resumed**: ``chaos.inject`` -> the first payment *sent after* the kill that was
  acknowledged (traffic record; a request sent before the kill may have committed before it);
* **recovery**: the later of writes resumed and the healer's ``db.failover`` / ``ok``;
* **rejoin**: ``chaos.inject`` -> ``db.sync`` / ``synchronous`` naming the old primary, i.e. it
  streams again as the synchronous standby. The next trial starts only after it, since a
  failover without a synchronous standby is refused (it could lose acknowledged commits).

Lost and duplicated payments are counted on the new primary's ``payments`` schema
(:func:`~finpilot.heal._chaos._ledger.check_payments_pg`).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import DB_FAILOVER, DB_FENCE, DB_SYNC
from finpilot.core import ConfigError, DbHaSettings, NotFoundError, RuntimeSettings, SecretRef
from finpilot.heal._chaos._faults import ACTOR, DrillStack, EntryFields, Injected, TrialTiming, time_trial
from finpilot.heal._chaos._traffic import RequestRecord
from finpilot.heal._db._cluster import PgCluster
from finpilot.heal._db._failover import DbHealer, kill_primary
from finpilot.heal._db._proc import find_bin_dir

DSN_ENV = "FINPILOT_DRILL_PAYMENTS_DSN"
"""The host environment variable the payments replicas' ``PAYMENTS_DSN`` secret refers to."""
SCHEMA = "payments"
"""The PostgreSQL schema the payments service writes (its default)."""
CLIENT_RETRY_S = 5.0
"""How long the drill's client resends an unanswered payment with its key during a failover."""


def pg_unavailable() -> str | None:
    """Why the drill cannot build a PostgreSQL pair here (no binaries), or None when it can."""
    try:
        find_bin_dir(None)
    except (ConfigError, NotFoundError) as exc:
        return f"PostgreSQL binaries not found: {exc.message}"
    return None


def db_runtime(runtime: RuntimeSettings) -> RuntimeSettings:
    """``runtime`` with the payments replicas writing to the pair (``PAYMENTS_DSN`` from :data:`DSN_ENV`)."""
    spec = runtime.services["payments"]
    secrets = {**spec.secrets, "PAYMENTS_DSN": SecretRef(env=DSN_ENV)}
    services = {**runtime.services, "payments": spec.model_copy(update={"secrets": secrets})}
    return runtime.model_copy(update={"services": services})


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class DrillDbPair:
    """A scratch HA pair, its healer, and :data:`DSN_ENV` set for the replicas; all undone on exit."""

    def __init__(self, ledger: Ledger, *, keep: bool = False) -> None:
        self.ledger, self.keep = ledger, keep
        self.base: Path | None = None
        self.cluster: PgCluster | None = None
        self.healer: DbHealer | None = None
        self._saved_env: str | None = None

    @property
    def dsn(self) -> str:
        """The multi-host DSN (``target_session_attrs=read-write``)."""
        assert self.cluster is not None
        return self.cluster.dsn()

    def describe(self) -> dict[str, Any]:
        """The pair's settings for the report (no DSN: it is passed by reference)."""
        assert self.cluster is not None
        ha = self.cluster.ha
        return {
            "pair": "primary + synchronous standby (initdb, pg_basebackup)",
            "check": f"every {ha.check_interval_s:g} s, timeout {ha.check_timeout_s:g} s, "
            f"threshold {ha.failure_threshold}",
            "client": "multi-host DSN, target_session_attrs=read-write; "
            f"resend with the same key for {CLIENT_RETRY_S:g} s",
            "base_dir": str(self.base) if self.keep else None,
        }

    def __enter__(self) -> DrillDbPair:
        # Under root PostgreSQL runs as `postgres`, which cannot enter the drill's 0700 scratch tree.
        # mkdtemp's name is unpredictable and it creates the folder itself; /tmp, not TMPDIR, because
        # the postgres user must be able to traverse every folder above it.
        self.base = Path(tempfile.mkdtemp(prefix="finpilot-drill-pg-", dir="/tmp"))  # nosec B108
        self.base.chmod(0o755)
        try:
            primary, standby = _free_ports(2)
            ha = DbHaSettings(base_dir=self.base / "pair", primary_port=primary, standby_port=standby)
            self.cluster = PgCluster(ha, self.base / "pair")
            self.cluster.init()
            self._saved_env = os.environ.get(DSN_ENV)
            os.environ[DSN_ENV] = self.cluster.dsn()
            self.healer = DbHealer(self.cluster, self.ledger).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.healer is not None:
            self.healer.stop()
        if self._saved_env is None:
            os.environ.pop(DSN_ENV, None)
        else:
            os.environ[DSN_ENV] = self._saved_env
        try:
            if self.cluster is not None and self.cluster.initialised:
                self.cluster.stop()
        finally:
            if self.base is not None and not self.keep:
                shutil.rmtree(self.base, ignore_errors=True)


def _cluster_of(stack: DrillStack) -> PgCluster:
    cluster = getattr(stack, "db_cluster", None)
    if not isinstance(cluster, PgCluster):
        raise ConfigError(
            "db-primary-down needs a drill stack with a PostgreSQL pair",
            fix="run it through run_chaos_drill, which builds one",
        )
    return cluster


class DbPrimaryDown:
    """``db-primary-down``: SIGKILL the pair's primary; the healer fences, promotes and rejoins (module docstring)."""

    name = "db-primary-down"
    heals = True
    fresh_stack = False
    needs_db = True
    timeout_s = 60.0  # covers the rejoin (pg_rewind, else a fresh basebackup)

    def __init__(self, *, trials: int = 20) -> None:
        self.trials = trials

    def inject(self, stack: DrillStack, trial: int) -> Injected:
        """Kill the primary; the trial awaits the failover and the old primary's rejoin."""
        del trial
        killed = kill_primary(_cluster_of(stack), stack.ledger, actor=ACTOR)
        target = f"db:{killed['node']}"
        return Injected(self.name, target, frozenset({"failover", "rejoin"}), details={"port": killed["port"]})

    def detects(self, entry: EntryFields, injected: Injected) -> bool:
        """The healer fencing the killed node."""
        return entry.get("kind") == DB_FENCE.name and entry.get("subject") == injected.target

    def recovers(self, entry: EntryFields, injected: Injected) -> str | None:
        """``failover`` for the promotion away from the node, ``rejoin`` once it is the synchronous standby."""
        if entry.get("outcome") != "ok":
            return None
        node = injected.target.removeprefix("db:")
        evidence = entry.get("evidence", {})
        if entry.get("kind") == DB_FAILOVER.name and evidence.get("from") == node:
            return "failover"
        if (
            entry.get("kind") == DB_SYNC.name
            and entry.get("action") == "synchronous"
            and evidence.get("standby") == node
        ):
            return "rejoin"
        return None

    def undo(self, stack: DrillStack, injected: Injected) -> None:
        """Nothing: the healer rebuilds the old primary itself."""
        del stack, injected

    def timing(
        self, injected: Injected, entries: Sequence[EntryFields], records: Sequence[RequestRecord]
    ) -> TrialTiming:
        """The trial's times (module docstring): ``entries`` from its ``chaos.inject`` on, ``records`` of its run."""
        base = time_trial(self, injected, entries)
        inject_at = float(entries[0]["_t"])
        at: dict[str, float] = {}
        for entry in entries[1:]:
            part = self.recovers(entry, injected)
            if part is not None and part not in at:
                at[part] = float(entry["_t"]) - inject_at
        # Sent after the kill, so it cannot have committed on the old primary before it died.
        acks = [r.t1 for r in records if r.acked and r.t0 >= inject_at]
        resumed = min(acks) - inject_at if acks else None
        failover = at.get("failover")
        recovery = max(failover, resumed) if failover is not None and resumed is not None else None
        return TrialTiming(
            detection_s=base.detection_s,
            recovery_s=recovery,
            recovered=recovery is not None and "rejoin" in at,
            writes_resumed_s=resumed,
            rejoin_s=at.get("rejoin"),
        )
