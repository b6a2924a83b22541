"""Transaction surveillance: streaming features, models, rules and replay protocols.

The live path and a replay run the same code::

    from finpilot.fraud import FeatureEngine, Payment, Scorer, load_artifact
    scorer = Scorer(FeatureEngine(), load_artifact(Path("model")))
    verdict = scorer.score_one(Payment("tx1", 1_533_081_600, "cust9", "term4", 42.0))

:func:`replay` runs a payment CSV through the handbook or the prequential protocol, and is
what ``finpilot fraud replay`` and the benchmark call.
"""

from finpilot.fraud._audit import record_model
from finpilot.fraud._csv import PaymentTable, read_payments
from finpilot.fraud._features import BOOK_FEATURES, FEATURE_NAMES, FeatureConfig, FeatureEngine
from finpilot.fraud._handbook import HandbookData, build_handbook_data, run_handbook
from finpilot.fraud._metrics import auc_and_ap, card_precision_at_k
from finpilot.fraud._model import DEFAULT_PARAMS, PARAM_GRID, ModelArtifact, load_artifact, predict, train_model
from finpilot.fraud._payment import Payment
from finpilot.fraud._prequential import run_prequential
from finpilot.fraud._replay import Protocol, replay, write_predictions
from finpilot.fraud._rules import Rules
from finpilot.fraud._scorer import Score, Scorer
from finpilot.fraud._synthetic import generate_payments

__all__ = [
    "BOOK_FEATURES",
    "DEFAULT_PARAMS",
    "FEATURE_NAMES",
    "PARAM_GRID",
    "FeatureConfig",
    "FeatureEngine",
    "HandbookData",
    "ModelArtifact",
    "Payment",
    "PaymentTable",
    "Protocol",
    "Rules",
    "Score",
    "Scorer",
    "auc_and_ap",
    "build_handbook_data",
    "card_precision_at_k",
    "generate_payments",
    "load_artifact",
    "predict",
    "read_payments",
    "record_model",
    "replay",
    "run_handbook",
    "run_prequential",
    "train_model",
    "write_predictions",
]
