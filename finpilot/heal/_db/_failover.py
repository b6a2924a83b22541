"""The database healer: watch the primary, and on failure fence it, promote the standby and rebuild the old one.

Order matters for zero loss and no split brain:

1. **fence** the failed primary first (SIGKILL whatever is left of it, and record it as fenced
   so nothing starts it as a primary again); a primary that comes back on its own could
   accept writes that the new timeline never sees;
2. **promote** the standby; because replication was synchronous, every commit a client saw
   acknowledged is already there. Its ``synchronous_standby_names`` is relaxed first,
   since a primary without a standby would otherwise block every commit;
3. **rejoin** the old primary as a standby (pg_rewind, else a fresh pg_basebackup), and once
   it streams, make replication **sync**\\ hronous again.

Clients follow by themselves: their libpq multi-host DSN with ``target_session_attrs=read-write``
skips every server that is down or in recovery. Every step is an audit entry.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import CHAOS_INJECT, DB_FAILOVER, DB_FENCE, DB_PROMOTE, DB_REJOIN, DB_RESTART, DB_SYNC
from finpilot.core import FinpilotError, StorageError
from finpilot.heal._db._cluster import PgCluster
from finpilot.heal._db._switch import failover_lock
from finpilot.heal._db._watch import Watcher

ACTOR = "healer:db"
"""The audit actor of every automated database action."""


@dataclass
class FailoverReport:
    """What one failover did and how long each part took (seconds)."""

    old_primary: str
    new_primary: str
    failed_checks: int
    detection_s: float
    fence_s: float
    promote_s: float
    total_s: float
    rejoin: dict[str, Any] = field(default_factory=dict)


class DbHealer(Watcher):
    """A thread that checks both servers every ``check_interval_s``; fails over after ``failure_threshold`` misses."""

    thread_name = "finpilot-db-healer"
    join_timeout_s = 120.0  # a rejoin in progress (pg_rewind or a basebackup) finishes first

    def __init__(self, cluster: PgCluster, ledger: Ledger, *, actor: str = ACTOR) -> None:
        super().__init__(ledger, actor=actor, subject="db:pair", period_s=cluster.ha.check_interval_s)
        self.cluster = cluster
        self.failovers: list[FailoverReport] = []
        self._failures = 0
        self._first_failure: float | None = None
        self._standby_failures = 0
        self._next_rejoin = 0.0
        self._next_restart = 0.0
        self._refused = False

    # One step ---------------------------------------------------------------------------

    def check_once(self) -> None:
        """Check the primary (and the standby); fail over, relax, re-sync or rejoin as the checks demand."""
        cluster = self.cluster
        primary = cluster.primary()
        seen = cluster.probe(primary)
        if seen.ok and seen.in_recovery is False:
            self._failures, self._first_failure, self._refused = 0, None, False
            self._watch_standby()
            return
        now = time.monotonic()
        if self._first_failure is None:
            self._first_failure = now
        self._failures += 1
        if self._failures >= cluster.ha.failure_threshold:
            self.failover(detected_after_s=now - self._first_failure, evidence_error=seen.error)

    def failover(self, *, detected_after_s: float = 0.0, evidence_error: str | None = None) -> FailoverReport:
        """Fence the primary, promote the standby, then rejoin the old primary and restore synchronous replication.

        Holds the pair's failover lock (see :func:`failover_lock`); while a requested failover
        holds it, this raises StorageError and the next check looks at the pair afresh.
        """
        with failover_lock(self.cluster, wait_s=0):
            return self._failover(detected_after_s, evidence_error)

    def _failover(self, detected_after_s: float, evidence_error: str | None) -> FailoverReport:
        cluster = self.cluster
        old, new = cluster.primary(), cluster.standby()
        started = time.monotonic()
        failed_checks = self._failures
        synchronous = cluster.state().get("sync")
        if synchronous != new.name:
            # Replication was relaxed (the standby was down): commits acknowledged since then
            # exist only on the failed primary, so promoting would lose them. A person decides.
            if not self._refused:
                self._refused = True
                self._audit(
                    DB_FAILOVER,
                    "promote",
                    f"db:{new.name}",
                    "refused",
                    {"reason": "standby was not synchronous", "synchronous_standby": synchronous},
                )
            raise StorageError(
                f"refusing to promote {new.name}: it was not the synchronous standby, so it may lack acknowledged "
                "commits",
                fix=f"start {old.name} again (`finpilot db up`), or promote {new.name} by hand, accepting loss",
            )
        fenced = cluster.fence(old)
        fence_s = time.monotonic() - started
        self._audit(
            DB_FENCE,
            "fence",
            f"db:{old.name}",
            "ok",
            {
                **fenced,
                "failed_checks": failed_checks,
                "detection_s": round(detected_after_s, 3),
                "probe": evidence_error,
            },
        )
        candidate = cluster.probe(new)
        if not candidate.ok or not candidate.in_recovery:
            self._audit(
                DB_FAILOVER,
                "promote",
                f"db:{new.name}",
                "failed",
                {"reason": "standby unreachable or not in recovery", "probe": candidate.error},
            )
            raise StorageError(
                f"cannot fail over: standby {new.name} is not a reachable standby",
                fix="start the standby, or restore from a backup",
            )
        try:
            promoted = cluster.promote(new)
        except FinpilotError as exc:
            self._audit(DB_PROMOTE, "promote", f"db:{new.name}", "failed", {"error": str(exc)[:300]})
            raise
        promote_s = time.monotonic() - started - fence_s
        self._audit(DB_PROMOTE, "promote", f"db:{new.name}", "ok", {**promoted, "synchronous_standby_names": ""})
        self._failures, self._first_failure = 0, None
        report = FailoverReport(
            old_primary=old.name,
            new_primary=new.name,
            failed_checks=failed_checks,
            detection_s=round(detected_after_s, 3),
            fence_s=round(fence_s, 3),
            promote_s=round(promote_s, 3),
            total_s=round(time.monotonic() - started, 3),
        )
        self._audit(
            DB_FAILOVER,
            "failover",
            "db:pair",
            "ok",
            {
                "from": old.name,
                "to": new.name,
                "from_port": old.port,
                "to_port": new.port,
                "failed_checks": failed_checks,
                "detection_s": report.detection_s,
                "fence_s": report.fence_s,
                "promote_s": report.promote_s,
                "lsn": promoted["lsn"],
            },
        )
        self.failovers.append(report)
        report.rejoin = self._rejoin(old.name)
        return report

    def _rejoin(self, name: str) -> dict[str, Any]:
        cluster = self.cluster
        node, primary = cluster.node(name), cluster.primary()
        try:
            result = cluster.rejoin(node, primary)
        except FinpilotError as exc:
            # Retried by the loop while the node stays fenced; back off so a broken node is not hammered.
            self._next_rejoin = time.monotonic() + 10
            self._audit(DB_REJOIN, "rejoin", f"db:{name}", "failed", {"error": str(exc)[:300]})
            return {"error": str(exc)[:300]}
        self._audit(DB_REJOIN, "rejoin", f"db:{name}", "ok", result)
        self._make_sync(name)
        return result

    def _make_sync(self, standby_name: str) -> None:
        cluster = self.cluster
        primary, standby = cluster.primary(), cluster.node(standby_name)
        started = time.monotonic()
        cluster.set_sync(primary, standby_name)
        waited = cluster.wait_streaming(primary, standby, sync=True, timeout_s=15)
        self._standby_failures = 0
        self._audit(
            DB_SYNC,
            "synchronous",
            f"db:{primary.name}",
            "ok",
            {
                "standby": standby_name,
                "port": standby.port,
                "took_s": round(time.monotonic() - started, 3),
                "wait_s": round(waited, 3),
            },
        )

    def _streaming(self, standby_name: str) -> bool:
        # Naming a standby that is still catching up synchronous would stall every commit until it has.
        rows = self.cluster.replication(self.cluster.primary())
        return any(r["name"] == standby_name and r["state"] == "streaming" for r in rows)

    def _watch_standby(self) -> None:
        cluster = self.cluster
        standby = cluster.standby()
        if standby.name in cluster.fenced():
            if time.monotonic() >= self._next_rejoin:
                self._rejoin(standby.name)
            return
        seen = cluster.probe(standby)
        # Whether replication is synchronous is read from cluster.json, so a restarted `db up`
        # still knows that it was relaxed and re-syncs (or refuses an unsafe failover).
        synchronous = cluster.state().get("sync")
        if seen.ok and seen.in_recovery:
            self._standby_failures = 0
            if synchronous != standby.name and self._streaming(standby.name):
                self._make_sync(standby.name)
            return
        self._standby_failures += 1
        if self._standby_failures < cluster.ha.failure_threshold:
            return
        if synchronous is not None:
            # A synchronous primary without its standby blocks every commit: trade the standby's
            # copy for availability until it is back, and say so in the ledger. From now on an
            # automatic failover is refused, since the standby misses what is committed meanwhile.
            cluster.set_sync(cluster.primary(), None)
            self._audit(
                DB_SYNC,
                "relax",
                f"db:{cluster.primary().name}",
                "ok",
                {"standby": standby.name, "failed_checks": self._standby_failures, "probe": seen.error},
            )
        if time.monotonic() < self._next_restart:
            return
        try:
            cluster.start_node(standby)
        except FinpilotError as exc:
            self._next_restart = time.monotonic() + 10
            self._audit(DB_RESTART, "start", f"db:{standby.name}", "failed", {"error": str(exc)[:300]})
        else:
            self._audit(DB_RESTART, "start", f"db:{standby.name}", "ok", {"port": standby.port})


def kill_primary(cluster: PgCluster, ledger: Ledger, *, actor: str) -> dict[str, Any]:
    """``chaos db-primary-down``: audit the injection, then SIGKILL the primary's postmaster (a crash, not a stop)."""
    primary = cluster.primary()
    pid = primary.postmaster_pid()
    if pid is None:
        raise StorageError(
            f"primary {primary.name} is not running; nothing to kill", fix="start it with `finpilot db up`"
        )
    evidence = {"fault": "db-primary-down", "node": primary.name, "port": primary.port, "pid": pid, "signal": "SIGKILL"}
    ledger.append(
        CHAOS_INJECT.entry(
            actor=actor,
            action="db-primary-down",
            subject=f"db:{primary.name}",
            outcome="ok",
            evidence=evidence,
        )
    )
    import os

    os.kill(pid, signal.SIGKILL)
    return {**evidence, "killed_at": time.time()}
