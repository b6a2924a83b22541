"""Kinds the fraud engine writes: decisions, account freezes, labels, models, drift, alerts, rejects.

``fraud.account`` and ``fraud.decision`` are read back at start-up (frozen accounts, the NATS
worker's recovery), ``fraud.model`` is the model registry's history.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence

_DECISIONS = ("approve", "review", "decline", "freeze_account")


class Caller(Evidence):
    """Who called the scoring API: the same facts a ``console.request`` entry holds."""

    token_id: str | None = Field(description="The API token's id (never the token); None when unauthenticated.")
    client: str = Field(description="The client's address as the server saw it, or 'unknown'.")
    request: str = Field(description="METHOD /route-template of the call.")


class FraudDecisionEvidence(Evidence):
    """Why a payment was decided as it was: scores, reasons, model and policy, and the payment's ids."""

    score: float = Field(description="The score the policy decided on (model score plus rules), 0..1.")
    model_score: float = Field(description="The model's own score, 0..1.")
    reasons: list[str] = Field(description="The rules and features that pushed the score.")
    model_version: str
    policy_id: str = Field(description="Names the thresholds that made the decision.")
    customer_id: str
    terminal_id: str
    amount: float
    time: int = Field(description="The payment's time, epoch seconds.")
    caller: Caller | None = None


FRAUD_DECISION = KINDS.declare(
    EntryKind(
        name="fraud.decision",
        version=1,
        meaning="The fraud engine scored a payment and decided to approve, review, decline or freeze its account.",
        evidence=FraudDecisionEvidence,
        actors=("*",),
        actions=_DECISIONS,
        subjects=("payment:*",),
        outcomes=_DECISIONS,
    )
)


class FraudAccountEvidence(Evidence):
    """Which customer account was frozen or unfrozen, and why."""

    customer_id: str
    reason: str


FRAUD_ACCOUNT = KINDS.declare(
    EntryKind(
        name="fraud.account",
        version=1,
        meaning="A customer account was frozen (its payments are declined) or unfrozen; replayed at start-up.",
        evidence=FraudAccountEvidence,
        # Who may freeze: the engine on a freeze_account decision, a runbook, an operator through the
        # console's fraud API (token:*), an analyst or a CLI user through the library. The
        # replay at start-up trusts no other actor (see KindRegistry.written_by_system).
        actors=("fraud-engine", "runbook:*", "token:*", "analyst:*", "cli:*"),
        actions=("freeze", "unfreeze"),
        subjects=("account:*",),
        outcomes=("ok",),
    )
)


class FraudLabelEvidence(Evidence):
    """A late verdict on a scored payment (chargeback or analyst), fed back to the features."""

    fraud: bool
    source: Literal["chargeback", "analyst"]
    known_at: int | None = Field(description="When the label became usable to the features (epoch s); None: default.")
    customer_id: str
    terminal_id: str
    time: int | None = Field(
        default=None,
        description="The time the payment was counted at (epoch s), so that an HTTP scorer replaying the label "
        "can place it; None in labels written before HTTP partitions.",
    )


FRAUD_LABEL = KINDS.declare(
    EntryKind(
        name="fraud.label",
        version=1,
        meaning="A scored payment was labelled fraudulent or legitimate, by a chargeback or an analyst.",
        evidence=FraudLabelEvidence,
        actors=("*",),
        actions=("chargeback", "analyst"),
        subjects=("payment:*",),
        outcomes=("fraud", "legitimate"),
    )
)


class FraudModelEvidence(Evidence):
    """A model's identity (hash, training window, metrics) and what the registry did with it."""

    sha256: str = Field(description="Hash of the model artifact.")
    training_window: list[str] = Field(description="First and last day of the training data.")
    metrics: dict[str, float | None] = Field(description="Validation metrics by name; None where not finite.")
    # Hyper-parameters are the learner's own (LightGBM's today); their names follow the learner.
    params: dict[str, Any] | None = None
    feature_names: list[str] | None = None
    role: str | None = Field(default=None, description="The role a registered model takes (challenger).")
    champion: str | None = Field(default=None, description="The champion when the model was registered or refused.")
    previous_champion: str | None = None
    replaced_champion: str | None = Field(default=None, description="The champion a rollback replaced.")
    reason: str | None = None
    # The retrain evaluation record (metrics of both models, hold-out, shadow statistics): its
    # shape is the evaluator's report, which grows with the evaluation, not a ledger contract.
    evaluation: dict[str, Any] | None = None


FRAUD_MODEL = KINDS.declare(
    EntryKind(
        name="fraud.model",
        version=1,
        meaning="A fraud model was trained, registered, promoted to champion, rolled back to, or refused.",
        evidence=FraudModelEvidence,
        actors=("*",),
        actions=("train", "register", "promote", "rollback", "refuse"),
        subjects=("model:*",),
        outcomes=("ok", "refused"),
    )
)


class DriftThresholds(Evidence):
    """The PSI levels a drift check used."""

    warn: float
    drift: float


class FeaturePsi(Evidence):
    """One feature's population stability index against the model's reference."""

    name: str
    psi: float
    level: Literal["ok", "warn", "drift"]


class DriftWindow(Evidence):
    """The CSV window an offline drift check compared (``finpilot fraud drift``)."""

    from_: str | None = Field(alias="from", description="First day of the window.")
    to: str | None = Field(description="Last day of the window.")
    payments: int


class AdwinReport(Evidence):
    """ADWIN run over a labelled window's decision errors (offline check)."""

    drift: bool
    labels: int
    errors: int
    error_rate: float | None
    first_rise_at: int | None
    error_rate_before: float | None
    error_rate_after: float | None
    adwin_detections: int
    adwin_delta: float


class DriftFacts(Evidence):
    """What a drift detection found: the PSI report, or the ADWIN state (every field optional here)."""

    signal: str | None = Field(default=None, description="psi, adwin, or both joined by '+'.")
    model_version: str | None = None
    reference_size: int | None = Field(default=None, description="Rows in the model's reference sample.")
    thresholds: DriftThresholds | None = None
    status: Literal["ok", "warn", "drift"] | None = None
    score_psi: float | None = None
    features: list[FeaturePsi] | None = Field(default=None, description="The highest feature PSIs first.")
    drifted_features: list[str] | None = None
    inputs_drifted: bool | None = None
    window: int | DriftWindow | None = Field(
        default=None, description="Decisions in the live window, or the CSV window."
    )
    labels: int | None = None
    errors: int | None = None
    error_rate: float | None = None
    error_rate_before: float | None = None
    adwin_width: int | None = None
    adwin_detections: int | None = None
    adwin_delta: float | None = None


class FraudDriftEvidence(DriftFacts):
    """A drift detection: by the live monitor (PSI report or ADWIN state) or by an offline check of a CSV window."""

    signal: str = Field(description="psi, adwin, or both joined by '+'.")
    model_version: str
    source: str | None = Field(default=None, description="The CSV file an offline check read.")
    adwin: AdwinReport | None = None


FRAUD_DRIFT = KINDS.declare(
    EntryKind(
        name="fraud.drift",
        version=1,
        meaning="The model's inputs (PSI) or its error rate (ADWIN) drifted from what it was trained on.",
        evidence=FraudDriftEvidence,
        actors=("*",),
        actions=("detect",),
        subjects=("model:*",),
        outcomes=("drift",),
    )
)


class FraudAlertEvidence(DriftFacts):
    """An alert's id and reasons, with the facts of what raised it (a decision, a freeze, or a drift)."""

    alert_id: str
    reasons: list[str]
    customer_id: str | None = None
    transaction_id: str | None = None
    decision: str | None = None
    score: float | None = None
    decision_index: int | None = Field(default=None, description="Ledger index of the decision that raised it.")
    reason: str | None = None
    account_index: int | None = Field(default=None, description="Ledger index of the freeze that raised it.")
    audit_index: int | None = Field(default=None, description="Ledger index of the drift entry that raised it.")


FRAUD_ALERT = KINDS.declare(
    EntryKind(
        name="fraud.alert",
        version=1,
        meaning="An alert was raised to a person: a declined or frozen payment, a frozen account, or drift.",
        evidence=FraudAlertEvidence,
        actors=("fraud-alerts",),
        actions=("decline", "freeze_account", "account_frozen", "fraud.drift"),
        subjects=("account:*", "fraud"),
        outcomes=("info", "warning", "critical"),
    )
)


class FraudRejectEvidence(Evidence):
    """Why a message on the payments stream could not be decided."""

    partition: int
    reason: str
    worker: str = Field(description="The NATS worker that dropped it.")


FRAUD_REJECT = KINDS.declare(
    EntryKind(
        name="fraud.reject",
        version=1,
        meaning="A message on the payments stream was not a payment that could be decided, and was dropped.",
        evidence=FraudRejectEvidence,
        actors=("*",),
        actions=("drop",),
        subjects=("nats:*",),
        outcomes=("rejected",),
    )
)
