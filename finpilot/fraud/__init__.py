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
"""

from finpilot.fraud._audit import record_model
from finpilot.fraud._csv import PaymentTable, read_payments
from finpilot.fraud._decider import PaymentLike, PaymentsDecision, payments_decider
from finpilot.fraud._features import BOOK_FEATURES, FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._handbook import HandbookData, build_handbook_data, run_handbook
from finpilot.fraud._metrics import auc_and_ap, card_precision_at_k
from finpilot.fraud._model import DEFAULT_PARAMS, PARAM_GRID, ModelArtifact, load_artifact, predict, train_model
from finpilot.fraud._payment import Payment
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
from finpilot.fraud._replay import Protocol, replay, write_predictions
from finpilot.fraud._rules import Rules
from finpilot.fraud._scorer import Score, Scorer
from finpilot.fraud._service import DecisionObserver, FraudService
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
from finpilot.fraud._wire import LABEL_SOURCES, Label, LabelSource, label_from_json, payment_from_json

__all__ = [
    "BOOK_FEATURES",
    "DEFAULT_PARAMS",
    "FEATURE_NAMES",
    "FRAUD_ACTIONS",
    "LABEL_SOURCES",
    "PARAM_GRID",
    "SCENARIOS",
    "AccountState",
    "ArtifactInfo",
    "DecisionObserver",
    "DecisionPolicy",
    "FeatureConfig",
    "FeatureEngine",
    "FraudAction",
    "FraudDecision",
    "FraudService",
    "HandbookData",
    "Label",
    "LabelSource",
    "ModelArtifact",
    "Payment",
    "PaymentLike",
    "PaymentTable",
    "PaymentsDecision",
    "Protocol",
    "Rules",
    "Score",
    "Scorer",
    "Shift",
    "SyntheticPayment",
    "ThresholdTuning",
    "Thresholds",
    "TrafficConfig",
    "auc_and_ap",
    "build_handbook_data",
    "card_precision_at_k",
    "fraud_rates_for",
    "generate_payments",
    "iter_payments",
    "label_from_json",
    "list_artifacts",
    "load_artifact",
    "payment_from_json",
    "payments_decider",
    "predict",
    "read_payments",
    "record_model",
    "replay",
    "run_handbook",
    "run_prequential",
    "run_traffic",
    "run_traffic_async",
    "train_artifact",
    "train_model",
    "tune_thresholds",
    "write_predictions",
]
