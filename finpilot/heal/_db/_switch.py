"""A failover someone asked for (a runbook), and the lock every failover of a pair takes.

The healer of ``finpilot db up`` fails the pair over when the primary stops answering; a
runbook in ``finpilot runtime up`` may ask for one too. Both hold ``failover.lock`` beside
``cluster.json`` while they fence and promote, and read the pair's state under it, so they
never interleave (which could fence the server the other just promoted).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from finpilot.audit import EntryKind, Ledger
from finpilot.audit.kinds import DB_FAILOVER, DB_FENCE, DB_PROMOTE
from finpilot.core import FinpilotError, InputError, StorageError
from finpilot.heal._db._cluster import PgCluster


@contextmanager
def failover_lock(cluster: PgCluster, *, wait_s: float) -> Iterator[None]:
    """Hold ``failover.lock`` beside ``cluster.json`` for one failover (any process, any thread).

    The healer of ``finpilot db up`` and a runbook in ``finpilot runtime up`` may both decide to
    fail the same pair over; two fence-and-promote runs interleaved could fence the server the
    other just promoted. Whoever holds the lock re-reads ``cluster.json`` before acting.
    """
    path = cluster.base_dir / "failover.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc.strerror}", fix="check db.ha.base_dir") from None
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StorageError(
                        "another failover of this database pair is in progress",
                        fix="wait for it (see `finpilot db status`); the pair is checked afresh afterwards",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


_WHOLE_PAIR = ("primary", "pair", "db")


def requested_failover(
    cluster: PgCluster, ledger: Ledger, *, actor: str, target: str = "primary", wait_s: float = 30.0
) -> dict[str, Any]:
    """Fail the pair over on request (a runbook): fence the primary and promote the synchronous standby.

    ``target`` is ``primary`` (or ``pair``/``db``) for whichever node is primary now, or a node
    name: then nothing is done (``done: false``) when that node is no longer the primary, so a
    stale trigger never fails the pair back. Refused before anything is touched when the standby
    is fenced (its rejoin is pending), not the synchronous standby, or not a reachable standby.
    The old primary stays fenced: the healer of ``finpilot db up`` rejoins it (pg_rewind) on
    its next check, as after its own failover. Audited like the healer (``db.fence``,
    ``db.promote``, ``db.failover``) with ``actor``.
    """

    def audit(kind: EntryKind[Any], action: str, subject: str, outcome: str, evidence: dict[str, Any]) -> None:
        ledger.append(kind.entry(actor=actor, action=action, subject=subject, outcome=outcome, evidence=evidence))

    with failover_lock(cluster, wait_s=wait_s):
        # Read under the lock: a failover that just finished has changed who is primary.
        old, new = cluster.primary(), cluster.standby()
        names = {old.name, new.name}
        if target not in names and target not in _WHOLE_PAIR:
            raise InputError(
                f"no database node or pair named '{target}'",
                field="failover",
                fix=f"use primary, or a node name: {', '.join(sorted(names))}",
            )
        if target == new.name:
            return {"done": False, "reason": f"{target} is no longer the primary ({new.name} is the standby)"}
        state = cluster.state()
        if new.name in state.get("fenced", []):
            raise StorageError(
                f"standby {new.name} is fenced: its rejoin after the last failover has not finished",
                fix="run `finpilot db up` so the healer rejoins it, then fail over again if still needed",
            )
        if state.get("sync") != new.name:
            raise StorageError(
                f"refusing to promote {new.name}: it is not the synchronous standby, so it may lack acknowledged "
                "commits",
                fix="wait until `finpilot db status` shows it synchronous, or promote it by hand, accepting loss",
            )
        candidate = cluster.probe(new)
        if not candidate.ok or not candidate.in_recovery:
            raise StorageError(
                f"standby {new.name} is not a reachable standby ({candidate.error or 'not in recovery'})",
                fix="start it with `finpilot db up`",
            )
        started = time.monotonic()
        fenced = cluster.fence(old)
        fence_s = time.monotonic() - started
        audit(DB_FENCE, "fence", f"db:{old.name}", "ok", {**fenced, "requested": True})
        try:
            promoted = cluster.promote(new)
        except FinpilotError as exc:
            audit(DB_PROMOTE, "promote", f"db:{new.name}", "failed", {"error": str(exc)[:300]})
            raise
        promote_s = time.monotonic() - started - fence_s
        audit(DB_PROMOTE, "promote", f"db:{new.name}", "ok", {**promoted, "synchronous_standby_names": ""})
        evidence = {
            "from": old.name,
            "to": new.name,
            "from_port": old.port,
            "to_port": new.port,
            "requested": True,
            "fence_s": round(fence_s, 3),
            "promote_s": round(promote_s, 3),
            "lsn": promoted["lsn"],
        }
        audit(DB_FAILOVER, "failover", "db:pair", "ok", evidence)
        return {"done": True, **evidence, "rejoin": "left to the `finpilot db up` healer"}
