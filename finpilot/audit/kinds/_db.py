"""Kinds the database healers write (the local PostgreSQL pair and Patroni): every failover step.

A failover is ``db.fence`` (the old primary), ``db.promote`` (the standby), ``db.failover``
(the summary), then ``db.rejoin`` and ``db.sync`` once the old primary streams again.
"""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence

_ACTORS = ("*",)
_DB = ("db:*",)


class DbInitEvidence(Evidence):
    """The pair as created (never its DSN)."""

    primary: str
    standby: str
    took_s: float
    ports: dict[str, int] = Field(description="Each server's port by name.")


DB_INIT = KINDS.declare(
    EntryKind(
        name="db.init",
        version=1,
        meaning="A PostgreSQL primary and its synchronous standby were created.",
        evidence=DbInitEvidence,
        actors=_ACTORS,
        actions=("init",),
        subjects=_DB,
        outcomes=("ok",),
    )
)


class DbFailoverEvidence(Evidence):
    """Which server took over from which, how fast each step was, and at what WAL position; or why not."""

    from_: str | None = Field(default=None, alias="from", description="The failed primary.")
    to: str | None = Field(default=None, description="The promoted standby.")
    from_port: int | None = None
    to_port: int | None = None
    failed_checks: int | None = None
    detection_s: float | None = None
    fence_s: float | None = None
    promote_s: float | None = None
    lsn: str | None = Field(default=None, description="The new primary's WAL position after promotion.")
    requested: bool | None = Field(default=None, description="True when asked for (a runbook), not detected.")
    reason: str | None = Field(default=None, description="Why a failover was refused or failed.")
    synchronous_standby: str | None = None
    probe: str | None = Field(default=None, description="The error the last check of the server saw.")
    via: str | None = Field(default=None, description="patroni when Patroni did the switch.")
    http_status: int | None = None
    answer: str | None = Field(default=None, description="Patroni's reply, cut to 200 characters.")
    request_s: float | None = None


DB_FAILOVER = KINDS.declare(
    EntryKind(
        name="db.failover",
        version=1,
        meaning="The database primary failed over to its synchronous standby (or the failover was refused or failed).",
        evidence=DbFailoverEvidence,
        actors=_ACTORS,
        actions=("failover", "promote"),
        subjects=_DB,
        outcomes=("ok", "failed", "refused"),
    )
)


class DbFenceEvidence(Evidence):
    """The server fenced (killed and marked never to run as primary again), and what led to it."""

    node: str
    port: int
    pid: int | None = Field(description="The postmaster's pid, if it was still known.")
    killed_processes: int
    failed_checks: int | None = None
    detection_s: float | None = None
    probe: str | None = None
    requested: bool | None = None


DB_FENCE = KINDS.declare(
    EntryKind(
        name="db.fence",
        version=1,
        meaning="A failed or demoted primary was fenced: every process killed, and barred from running as primary.",
        evidence=DbFenceEvidence,
        actors=_ACTORS,
        actions=("fence",),
        subjects=_DB,
        outcomes=("ok",),
    )
)


class DbPromoteEvidence(Evidence):
    """The standby promoted and its WAL positions, or the error that stopped it."""

    node: str | None = None
    port: int | None = None
    replay_lsn: str | None = None
    lsn: str | None = None
    promote_ms: float | None = None
    synchronous_standby_names: str | None = None
    by: str | None = Field(default=None, description="patroni when Patroni promoted it.")
    took_s: float | None = None
    error: str | None = None


DB_PROMOTE = KINDS.declare(
    EntryKind(
        name="db.promote",
        version=1,
        meaning="A standby was promoted to primary (or the promotion failed).",
        evidence=DbPromoteEvidence,
        actors=_ACTORS,
        actions=("promote",),
        subjects=_DB,
        outcomes=("ok", "failed"),
    )
)


class DbRejoinEvidence(Evidence):
    """How the old primary came back as a standby (pg_rewind or a fresh copy), or the error."""

    node: str | None = None
    port: int | None = None
    primary: str | None = None
    method: str | None = Field(default=None, description="rewind or basebackup.")
    rewind_error: str | None = None
    stream_wait_s: float | None = None
    took_s: float | None = None
    by: str | None = None
    error: str | None = None


DB_REJOIN = KINDS.declare(
    EntryKind(
        name="db.rejoin",
        version=1,
        meaning="A fenced former primary rejoined the pair as a streaming standby (or failed to).",
        evidence=DbRejoinEvidence,
        actors=_ACTORS,
        actions=("rejoin",),
        subjects=_DB,
        outcomes=("ok", "failed"),
    )
)


class DbSyncEvidence(Evidence):
    """Which standby replication waits for again, or was relaxed from because it was down."""

    standby: str
    port: int | None = None
    took_s: float | None = None
    wait_s: float | None = None
    by: str | None = None
    failed_checks: int | None = None
    probe: str | None = None


DB_SYNC = KINDS.declare(
    EntryKind(
        name="db.sync",
        version=1,
        meaning="Replication became synchronous again, or was relaxed to asynchronous while the standby was down.",
        evidence=DbSyncEvidence,
        actors=_ACTORS,
        actions=("synchronous", "relax"),
        subjects=_DB,
        outcomes=("ok",),
    )
)


class DbRestartEvidence(Evidence):
    """The standby started again, or why not."""

    port: int | None = None
    error: str | None = None


DB_RESTART = KINDS.declare(
    EntryKind(
        name="db.restart",
        version=1,
        meaning="The healer started a stopped standby again (or failed to).",
        evidence=DbRestartEvidence,
        actors=_ACTORS,
        actions=("start",),
        subjects=_DB,
        outcomes=("ok", "failed"),
    )
)


class DbHealerEvidence(Evidence):
    """The error a check of the pair met (recorded once while it repeats)."""

    error: str


DB_HEALER = KINDS.declare(
    EntryKind(
        name="db.healer",
        version=1,
        meaning="The database healer's check of the pair failed with an error (recorded once while it repeats).",
        evidence=DbHealerEvidence,
        actors=_ACTORS,
        actions=("check",),
        subjects=_DB,
        outcomes=("error",),
    )
)
