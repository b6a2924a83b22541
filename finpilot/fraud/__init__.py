"""Transaction surveillance: streaming features, models, rules and replay protocols.

The live path and a replay run the same code::

    from finpilot.fraud import FeatureEngine, Payment, Scorer, load_artifact
    scorer = Scorer(FeatureEngine(), load_artifact(Path("model")))
    verdict = scorer.score_one(Payment("tx1", 1_533_081_600, "cust9", "term4", 42.0))

:func:`replay` runs a payment CSV through the handbook or the prequential protocol, and is
what ``finpilot fraud replay`` and the benchmark call.

Live decisions: a :class:`FraudService` scores a payment, a :class:`DecisionPolicy` turns the
score into ``approve | review | decline | freeze_account`` and the decision is recorded in the
audit ledger; :func:`payments_decider` plugs it into the payments service in-process::

    service = FraudService(scorer, DecisionPolicy(Thresholds(review=0.5, decline=0.8)), ledger)
    decision, audit_index = service.score(payment)

Past one machine: :class:`NatsWorker` processes share the partitions of a JetStream payment
stream (:class:`NatsLayout`), and each payment is decided exactly once (``finpilot fraud serve``).

Keeping the model fresh: a :class:`DriftMonitor` observes the service (PSI against the model's
:class:`Reference`, ADWIN on the errors) and audits drift; :func:`retrain` trains a challenger
on a :class:`LabelledWindow`, judges it against the champion by :class:`RetrainPolicy`
(optionally after a :class:`ShadowScorer` run) and promotes or refuses it in the
:class:`ModelRegistry`, which also rolls back.
"""

from finpilot.fraud._account_sync import AccountSync, HttpAccountSync, SetFrozen
from finpilot.fraud._alerts import SEVERITIES, Alert, AlertManager, AlertSink, Severity
from finpilot.fraud._audit import record_model
from finpilot.fraud._csv import PaymentTable, read_payments
from finpilot.fraud._decider import PaymentLike, PaymentsDecision, payments_decider
from finpilot.fraud._drift import DriftMonitor, DriftThresholds, drift_report, record_drift
from finpilot.fraud._features import BOOK_FEATURES, FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._handbook import HandbookData, build_handbook_data, run_handbook
from finpilot.fraud._metrics import auc_and_ap, card_precision_at_k
from finpilot.fraud._model import DEFAULT_PARAMS, PARAM_GRID, ModelArtifact, load_artifact, predict, train_model
from finpilot.fraud._nats_layout import (
    NatsLayout,
    connect_nats,
    delete_jetstream,
    ensure_jetstream,
    partition_for,
    publish_payments,
    read_decisions,
)
from finpilot.fraud._nats_worker import NatsWorker, WorkerStats
from finpilot.fraud._payment import Payment
from finpilot.fraud._persist import RestoredState, load_state, save_state
from finpilot.fraud._policy import (
    FRAUD_ACTIONS,
    AccountState,
    DecisionPolicy,
    FraudAction,
    FraudDecision,
    Thresholds,
    ThresholdTuning,
    tune_thresholds,
)
from finpilot.fraud._prequential import run_prequential
from finpilot.fraud._reference import (
    Histogram,
    Reference,
    holdout_reference,
    load_reference,
    psi,
    reference_from_window,
)
from finpilot.fraud._registry import ModelRegistry, RegistryState, read_state
from finpilot.fraud._replay import Protocol, replay, write_predictions
from finpilot.fraud._retrain import Evaluation, RetrainPolicy, conclude, evaluate_challenger, retrain
from finpilot.fraud._rules import Rules
from finpilot.fraud._scorer import Score, Scorer
from finpilot.fraud._service import DecisionObserver, FraudService
from finpilot.fraud._shadow import ShadowScorer
from finpilot.fraud._stats import FraudStats
from finpilot.fraud._synthetic import (
    SCENARIOS,
    Shift,
    SyntheticPayment,
    fraud_rates_for,
    generate_payments,
    iter_payments,
)
from finpilot.fraud._traffic import TrafficConfig, run_traffic, run_traffic_async
from finpilot.fraud._train import ArtifactInfo, list_artifacts, train_artifact
from finpilot.fraud._webhook import SIGNATURE_HEADER, WebhookSink, webhook_signature
from finpilot.fraud._window import LabelBuffer, LabelledWindow, window_from_table
from finpilot.fraud._wire import LABEL_SOURCES, Label, LabelSource, label_from_json, payment_from_json

__all__ = [
    "BOOK_FEATURES",
    "DEFAULT_PARAMS",
    "FEATURE_NAMES",
    "FRAUD_ACTIONS",
    "LABEL_SOURCES",
    "PARAM_GRID",
    "SCENARIOS",
    "SEVERITIES",
    "SIGNATURE_HEADER",
    "AccountState",
    "AccountSync",
    "Alert",
    "AlertManager",
    "AlertSink",
    "ArtifactInfo",
    "DecisionObserver",
    "DecisionPolicy",
    "DriftMonitor",
    "DriftThresholds",
    "Evaluation",
    "FeatureConfig",
    "FeatureEngine",
    "FraudAction",
    "FraudDecision",
    "FraudService",
    "FraudStats",
    "HandbookData",
    "Histogram",
    "HttpAccountSync",
    "Label",
    "LabelBuffer",
    "LabelSource",
    "LabelledWindow",
    "ModelArtifact",
    "ModelRegistry",
    "NatsLayout",
    "NatsWorker",
    "Payment",
    "PaymentLike",
    "PaymentTable",
    "PaymentsDecision",
    "Protocol",
    "Reference",
    "RegistryState",
    "RestoredState",
    "RetrainPolicy",
    "Rules",
    "Score",
    "Scorer",
    "SetFrozen",
    "Severity",
    "ShadowScorer",
    "Shift",
    "SyntheticPayment",
    "ThresholdTuning",
    "Thresholds",
    "TrafficConfig",
    "WebhookSink",
    "WorkerStats",
    "auc_and_ap",
    "build_handbook_data",
    "card_precision_at_k",
    "conclude",
    "connect_nats",
    "delete_jetstream",
    "drift_report",
    "ensure_jetstream",
    "evaluate_challenger",
    "fraud_rates_for",
    "generate_payments",
    "holdout_reference",
    "iter_payments",
    "label_from_json",
    "list_artifacts",
    "load_artifact",
    "load_reference",
    "load_state",
    "partition_for",
    "payment_from_json",
    "payments_decider",
    "predict",
    "psi",
    "publish_payments",
    "read_decisions",
    "read_payments",
    "read_state",
    "record_drift",
    "record_model",
    "reference_from_window",
    "replay",
    "retrain",
    "run_handbook",
    "run_prequential",
    "run_traffic",
    "run_traffic_async",
    "save_state",
    "train_artifact",
    "train_model",
    "tune_thresholds",
    "webhook_signature",
    "window_from_table",
    "write_predictions",
]
