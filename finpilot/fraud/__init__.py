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
Over HTTP, N scorer processes each own a :class:`Partition` of the customers (a :class:`HashRing`),
replicate through the ledger (:class:`PartitionTail`) and sit behind a :class:`HashRouter`.

Keeping the model fresh: a :class:`DriftMonitor` observes the service (PSI against the model's
:class:`Reference`, ADWIN on the errors) and audits drift; :func:`retrain` trains a challenger
on a labelled window (:func:`window_from_table`), judges it against the champion by :class:`RetrainPolicy`
(optionally after a shadow run beside the champion) and promotes or refuses it in the
:class:`ModelRegistry`, which also rolls back.
"""

from finpilot.fraud._alerts import AlertManager, AlertSink
from finpilot.fraud._csv import read_payments
from finpilot.fraud._drift import DriftMonitor, DriftThresholds, drift_report, record_drift
from finpilot.fraud._features._engine import BOOK_FEATURES, FEATURE_NAMES, FeatureEngine
from finpilot.fraud._features._window import window_from_table
from finpilot.fraud._models._artifact import ModelArtifact, load_artifact
from finpilot.fraud._models._audit import record_model
from finpilot.fraud._models._registry import ModelRegistry, read_state
from finpilot.fraud._models._retrain import RetrainPolicy, retrain
from finpilot.fraud._models._train import list_artifacts, train_artifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import DecisionPolicy, Thresholds, tune_thresholds
from finpilot.fraud._reference import Reference, holdout_reference, load_reference, reference_from_window
from finpilot.fraud._replay._handbook import build_handbook_data, run_handbook
from finpilot.fraud._replay._prequential import run_prequential
from finpilot.fraud._replay._run import replay
from finpilot.fraud._scorer import Scorer
from finpilot.fraud._serving._account_sync import AccountSync, HttpAccountSync
from finpilot.fraud._serving._decider import payments_decider
from finpilot.fraud._serving._hash_router import HashRouter, RouterStats, run_router
from finpilot.fraud._serving._nats_layout import NatsLayout, connect_nats, ensure_jetstream, publish_payments
from finpilot.fraud._serving._nats_worker import NatsWorker
from finpilot.fraud._serving._partition import Partition, partition_dir
from finpilot.fraud._serving._persist import load_state, save_state
from finpilot.fraud._serving._ring import HashRing
from finpilot.fraud._serving._service import FraudService
from finpilot.fraud._serving._stats import FraudStats
from finpilot.fraud._serving._tail import PartitionTail
from finpilot.fraud._serving._wire import MAX_AMOUNT, label_from_json, payment_from_json
from finpilot.fraud._traffic._patterns import PATTERN_SCENARIOS, Patterns
from finpilot.fraud._traffic._run import TrafficConfig, run_traffic, run_traffic_async
from finpilot.fraud._traffic._synthetic import Shift, fraud_rates_for, generate_payments, iter_payments
from finpilot.fraud._webhook import WebhookSink

__all__ = [
    "BOOK_FEATURES",
    "FEATURE_NAMES",
    "MAX_AMOUNT",
    "PATTERN_SCENARIOS",
    "AccountSync",
    "AlertManager",
    "AlertSink",
    "DecisionPolicy",
    "DriftMonitor",
    "DriftThresholds",
    "FeatureEngine",
    "FraudService",
    "FraudStats",
    "HashRing",
    "HashRouter",
    "HttpAccountSync",
    "ModelArtifact",
    "ModelRegistry",
    "NatsLayout",
    "NatsWorker",
    "Partition",
    "PartitionTail",
    "Patterns",
    "Payment",
    "Reference",
    "RetrainPolicy",
    "RouterStats",
    "Scorer",
    "Shift",
    "Thresholds",
    "TrafficConfig",
    "WebhookSink",
    "build_handbook_data",
    "connect_nats",
    "drift_report",
    "ensure_jetstream",
    "fraud_rates_for",
    "generate_payments",
    "holdout_reference",
    "iter_payments",
    "label_from_json",
    "list_artifacts",
    "load_artifact",
    "load_reference",
    "load_state",
    "partition_dir",
    "payment_from_json",
    "payments_decider",
    "publish_payments",
    "read_payments",
    "read_state",
    "record_drift",
    "record_model",
    "reference_from_window",
    "replay",
    "retrain",
    "run_handbook",
    "run_prequential",
    "run_router",
    "run_traffic",
    "run_traffic_async",
    "save_state",
    "train_artifact",
    "tune_thresholds",
    "window_from_table",
]
