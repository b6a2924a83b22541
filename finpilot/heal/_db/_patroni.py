"""The database healer for a Patroni-managed cluster: it detects, Patroni promotes.

Patroni owns leadership (its lock lives in etcd), so the healer never promotes a server
itself: it probes the leader's PostgreSQL every ``check_interval_s`` and, after
``failure_threshold`` misses, asks Patroni's REST API (``POST /failover``) to hand
leadership to the synchronous standby, well before Patroni's own TTL would expire. Patroni
then rebuilds the old leader (pg_rewind) and the healer records what it observes in
``GET /cluster``: the new leader, then the old one back as the synchronous standby.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from finpilot.audit import Ledger
from finpilot.audit.kinds import CHAOS_INJECT, DB_FAILOVER, DB_PROMOTE, DB_REJOIN, DB_SYNC
from finpilot.core import DbHaSettings, StorageError, http_client
from finpilot.heal._db._cluster import ha_dsn
from finpilot.heal._db._node import PgNode, probe, query
from finpilot.heal._db._watch import Watcher

ACTOR = "healer:db"
# Patroni owns the data directories; the healer only needs a member's address to probe it.
_NO_DIR = Path("/nonexistent")


class PatroniClient:
    """Patroni's REST API over several members: each call goes to the first member that answers."""

    def __init__(self, urls: list[str], *, timeout_s: float = 2.0) -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self._http = http_client(timeout_s=timeout_s, max_connections=max(2, len(self.urls)))

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def cluster(self) -> dict[str, Any]:
        """``GET /cluster`` from the first member that answers."""
        problems = []
        for url in self.urls:
            try:
                response = self._http.get(f"{url}/cluster")
                response.raise_for_status()
                data: dict[str, Any] = response.json()
                return data
            except (httpx.HTTPError, ValueError) as exc:
                problems.append(f"{url}: {type(exc).__name__}")
        raise StorageError(
            f"no Patroni member answered GET /cluster ({'; '.join(problems)})",
            fix="check that Patroni runs and db.ha.patroni_urls lists its REST API addresses",
        )

    def failover(self, api_url: str, leader: str, candidate: str, *, timeout_s: float = 30) -> tuple[int, str]:
        """``POST /failover`` to one member; Patroni answers once the candidate leads (or it gave up)."""
        base = api_url.removesuffix("/patroni").rstrip("/")
        try:
            response = self._http.post(
                f"{base}/failover", json={"leader": leader, "candidate": candidate}, timeout=timeout_s
            )
        except httpx.HTTPError as exc:
            return 0, type(exc).__name__
        return response.status_code, response.text[:300]


def members(cluster: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The members of a ``/cluster`` answer by name."""
    return {m["name"]: m for m in cluster.get("members", [])}


def leader_of(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The running leader, if any."""
    return next((m for m in cluster.get("members", []) if m.get("role") in ("leader", "master")), None)


def patroni_dsn(cluster: dict[str, Any], user: str, dbname: str) -> str:
    """The clients' multi-host DSN over every member's PostgreSQL port."""
    ports = [int(m["port"]) for m in sorted(cluster.get("members", []), key=lambda m: m["name"])]
    return ha_dsn(ports, user, dbname)


class PatroniHealer(Watcher):
    """A thread that probes the Patroni leader and asks Patroni to fail over to the synchronous standby."""

    thread_name = "finpilot-patroni-healer"

    def __init__(self, ha: DbHaSettings, ledger: Ledger, *, actor: str = ACTOR) -> None:
        super().__init__(ledger, actor=actor, subject="db:patroni", period_s=ha.check_interval_s)
        self.ha = ha
        self.client = PatroniClient(ha.patroni_urls, timeout_s=max(2.0, ha.check_timeout_s))
        self.failovers: list[dict[str, Any]] = []
        self._failures = 0
        self._first_failure: float | None = None
        self._awaiting_rejoin: str | None = None
        self._rejoined = False

    @property
    def urls(self) -> list[str]:
        """The REST API URLs watched."""
        return self.client.urls

    def stop(self) -> None:
        """Stop the watch thread and close the HTTP client."""
        super().stop()
        self.client.close()

    def check_once(self) -> None:
        """Probe the leader; after enough misses ask Patroni to fail over; record a rejoined old leader."""
        cluster = self.client.cluster()
        leader = leader_of(cluster)
        if self._awaiting_rejoin is not None:
            self._observe_rejoin(cluster)
        if leader is None:
            return  # Patroni is electing; nothing to ask of it yet
        node = PgNode(leader["name"], int(leader["port"]), _NO_DIR, host=str(leader.get("host", "127.0.0.1")))
        seen = probe(node, self.ha.superuser, "postgres", self.ha.check_timeout_s)
        if seen.ok and seen.in_recovery is False:
            self._failures, self._first_failure = 0, None
            return
        now = time.monotonic()
        self._first_failure = self._first_failure or now
        self._failures += 1
        if self._failures >= self.ha.failure_threshold:
            self.failover(cluster, leader, detected_after_s=now - self._first_failure, probe_error=seen.error)

    def failover(
        self, cluster: dict[str, Any], leader: dict[str, Any], *, detected_after_s: float, probe_error: str | None
    ) -> dict[str, Any]:
        """``POST /failover`` to the synchronous standby, then wait until it leads."""
        candidate = next(
            (m for m in cluster["members"] if m.get("role") == "sync_standby" and m.get("state") == "running"), None
        )
        if candidate is None:
            self._audit(DB_FAILOVER, "failover", "db:patroni", "refused", {"reason": "no running synchronous standby"})
            raise StorageError(
                f"leader {leader['name']} is down and no synchronous standby is running",
                fix="start a replica; Patroni promotes only a synchronous standby without losing commits",
            )
        started = time.monotonic()
        status, text = 0, "not sent"
        for url in [leader.get("api_url", ""), candidate.get("api_url", ""), *self.client.urls]:
            if not url:
                continue
            status, text = self.client.failover(url, leader["name"], candidate["name"])
            if status == 200:
                break
        outcome = "ok" if status == 200 else "failed"
        evidence = {
            "via": "patroni",
            "from": leader["name"],
            "to": candidate["name"],
            "from_port": leader["port"],
            "to_port": candidate["port"],
            "failed_checks": self._failures,
            "detection_s": round(detected_after_s, 3),
            "probe": probe_error,
            "http_status": status,
            "answer": text[:200],
            "request_s": round(time.monotonic() - started, 3),
        }
        self._audit(DB_FAILOVER, "failover", "db:patroni", outcome, evidence)
        if status != 200:
            raise StorageError(f"Patroni refused the failover (HTTP {status})", fix="see `patronictl list`")
        self._failures, self._first_failure = 0, None
        led = self._wait_leader(candidate["name"], timeout_s=30)
        self._audit(
            DB_PROMOTE,
            "promote",
            f"db:{candidate['name']}",
            "ok" if led else "failed",
            {"by": "patroni", "port": candidate["port"], "took_s": round(time.monotonic() - started, 3)},
        )
        self._awaiting_rejoin, self._rejoined = leader["name"], False
        report = {**evidence, "total_s": round(time.monotonic() - started, 3)}
        self.failovers.append(report)
        return report

    def _wait_leader(self, name: str, *, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                leader = leader_of(self.client.cluster())
            except StorageError:
                leader = None
            if leader is not None and leader["name"] == name and leader.get("state") == "running":
                return True
            time.sleep(0.1)
        return False

    def _observe_rejoin(self, cluster: dict[str, Any]) -> None:
        name = self._awaiting_rejoin
        assert name is not None
        member = members(cluster).get(name)
        if member is None or member.get("state") not in ("running", "streaming"):
            return
        if member.get("role") not in ("replica", "sync_standby"):
            return
        if not self._rejoined:
            self._rejoined = True
            self._audit(DB_REJOIN, "rejoin", f"db:{name}", "ok", {"by": "patroni", "port": member["port"]})
        if member.get("role") == "sync_standby":
            self._audit(DB_SYNC, "synchronous", f"db:{name}", "ok", {"by": "patroni", "standby": name})
            self._awaiting_rejoin = None


def kill_patroni_leader(ha: DbHaSettings, ledger: Ledger, *, actor: str) -> dict[str, Any]:
    """``chaos db-primary-down`` under Patroni: audit, then SIGKILL the leader's postmaster (same machine only)."""
    client = PatroniClient(ha.patroni_urls)
    try:
        leader = leader_of(client.cluster())
    finally:
        client.close()
    if leader is None:
        raise StorageError("Patroni reports no leader; nothing to kill", fix="see `patronictl list`")
    node = PgNode(leader["name"], int(leader["port"]), _NO_DIR, host=str(leader.get("host", "127.0.0.1")))
    rows = query(node, ha.superuser, "postgres", "SELECT current_setting('data_directory')")
    pid_file = Path(str(rows[0][0])) / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split("\n", 1)[0])
    except (OSError, ValueError) as exc:
        raise StorageError(
            f"cannot read the leader's pid file {pid_file}: {exc}", fix="run this on the leader's machine, as root"
        ) from None
    evidence = {"fault": "db-primary-down", "node": leader["name"], "port": leader["port"], "pid": pid}
    ledger.append(
        CHAOS_INJECT.entry(
            actor=actor,
            action="db-primary-down",
            subject=f"db:{leader['name']}",
            outcome="ok",
            evidence={**evidence, "signal": "SIGKILL", "via": "patroni"},
        )
    )
    os.kill(pid, signal.SIGKILL)
    return {**evidence, "killed_at": time.time()}
