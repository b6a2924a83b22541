"""The response models of the console's REST API, so that ``/openapi.json`` describes every answer.

Handlers build these from the capabilities' ``to_json()`` forms; FastAPI checks each answer
against its model, so a field added on one side and not the other fails loudly in the tests
(``tests/console/test_console_openapi.py``) instead of silently vanishing from the API.
Audit entries allow extra fields: the leaf format is versioned (``v``), and an entry written
by a later version must still be served.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from finpilot.core import StrictModel


class ApiModel(StrictModel):
    """A response body: exactly these fields."""


# --- operations --------------------------------------------------------------------------------


class Health(ApiModel):
    """``GET /healthz``."""

    status: Literal["ok"]
    ledger_size: int
    version: str


# --- audit -------------------------------------------------------------------------------------


class AuditEntry(BaseModel):
    """One stored entry: its index and leaf hash, then the leaf's own fields."""

    model_config = ConfigDict(extra="allow")

    index: int
    leaf_hash: str
    kind: str
    actor: str
    action: str
    subject: str
    outcome: str
    evidence: dict[str, Any]
    personal: str | None = None
    """The commitment to the entry's personal data, when it has any."""
    time: str
    v: int


class AuditEntryPage(ApiModel):
    """Entries newest first, and the ledger's size."""

    size: int
    entries: list[AuditEntry]


class Appended(ApiModel):
    """Where one appended entry landed."""

    index: int


class AppendedBatch(ApiModel):
    """Where each entry of an appended batch landed, in order."""

    indices: list[int]


class Checkpoint(ApiModel):
    """A signed checkpoint: C2SP signed note over the tree of ``tree_size`` entries."""

    seq: int
    tree_size: int
    root_hash: str
    note: str
    created_at: str


class CheckpointList(ApiModel):
    """Checkpoints, oldest first."""

    checkpoints: list[Checkpoint]


class InclusionProof(ApiModel):
    """RFC 9162 inclusion proof (hex hashes), with the signed checkpoint of its tree size when there is one."""

    type: Literal["inclusion"]
    index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    hashes: list[str]
    checkpoint: str | None
    leaf_data: str | None


class ConsistencyProof(ApiModel):
    """RFC 9162 consistency proof (hex hashes)."""

    type: Literal["consistency"]
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    hashes: list[str]


class VerifyProblem(ApiModel):
    """One thing verification found wrong; ``index`` is the first entry it puts in doubt."""

    where: str
    index: int
    detail: str
    checkpoint: int | None


class KindCount(ApiModel):
    """How many entries of one kind were read, and how many fit the kind as declared today."""

    entries: int
    conform: int
    declared: bool = Field(description="False for custom.* and retired kinds: nothing to conform to.")


class VerifyReport(ApiModel):
    """The outcome of a full verification; ``ok`` is false when any problem was found."""

    ok: bool
    entries: int
    tree_size: int
    checkpoints: int
    latest_checkpoint_size: int | None
    first_bad_index: int | None
    problems: list[VerifyProblem]
    notes: list[str]
    kinds: dict[str, KindCount] = Field(
        description="Per entry kind, conformance to its declaration (filled by bundle verification)."
    )


class Erasure(ApiModel):
    """What an erasure removed, and the index of the entry recording it."""

    erased_indices: list[int]
    record_index: int | None


# --- tokens ------------------------------------------------------------------------------------


class Token(ApiModel):
    """An API token's record (never its secret)."""

    id: str
    name: str
    role: str
    active: bool
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class TokenList(ApiModel):
    """Every token, revoked ones included."""

    tokens: list[Token]


class CreatedToken(Token):
    """A new token's record and its secret, shown this once."""

    token: str


# --- fraud -------------------------------------------------------------------------------------


class FraudScore(ApiModel):
    """A decision on one payment; the ``fraud.decision`` entry at ``audit_index`` records it."""

    decision: Literal["approve", "review", "decline", "freeze_account"]
    score: float
    reasons: list[str]
    model_version: str
    policy_id: str
    audit_index: int | None


class LabelAccepted(ApiModel):
    """The ``fraud.label`` entry recording the label."""

    audit_index: int


class AccountFreeze(ApiModel):
    """An account's freeze after the call, and the entry recording the change."""

    customer_id: str
    frozen: bool
    audit_index: int


class FraudSummary(ApiModel):
    """What the Fraud page shows. ``stats``, ``drift`` and ``alerts`` are the live watchers' own
    summaries (``FraudStats.summary``, the drift monitor's, ``AlertManager.summary``), None when not watched."""

    model_loaded: bool
    model_version: str | None
    policy_id: str | None
    problem: str | None
    stats: dict[str, Any] | None
    drift: dict[str, Any] | None
    alerts: dict[str, Any] | None


# --- incidents ---------------------------------------------------------------------------------


class IncidentPhase(ApiModel):
    """One audit entry of an incident."""

    phase: str
    index: int
    time: str | None
    kind: str
    action: str
    subject: str
    outcome: str
    since_open_s: float | None


class Incident(ApiModel):
    """A fault (or an unexplained detection) and what followed it, up to recovery."""

    id: str
    subject: str
    fault: str
    injected: bool
    status: Literal["open", "recovered"]
    affected: list[str]
    recovered: list[str]
    opened_at: str | None
    closed_at: str | None
    detection_s: float | None
    recovery_s: float | None
    phases: list[IncidentPhase]


class IncidentList(ApiModel):
    """Incidents newest first; ``from_index`` is the oldest audit entry read."""

    size: int
    from_index: int | None
    incidents: list[Incident]


# --- runtime -----------------------------------------------------------------------------------


class RuntimeView(ApiModel):
    """The local runtime as the Services and Nodes page shows it.

    ``nodes``, ``services`` and ``replicas`` are the controller's ``GET /api/v1/status`` maps
    (see its OpenAPI document); each replica also has its node's ``pool`` and its service's
    ``classification``. ``running: false`` with ``problem`` and ``fix`` when no runtime answers.
    """

    running: bool
    problem: str | None
    fix: str | None
    nodes: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]
    replicas: dict[str, dict[str, Any]]
