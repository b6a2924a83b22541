"""The decision policy: thresholds to actions, reasons, and tuning the decline threshold on hand-made data."""

from __future__ import annotations

import dataclasses
import math

import pytest

from finpilot.core import InputError
from finpilot.fraud import DecisionPolicy, Thresholds, tune_thresholds
from finpilot.fraud._policy import AccountState, FraudDecision

POLICY = DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=0.95))


@pytest.mark.parametrize(
    ("score", "action"),
    [
        (0.0, "approve"),
        (0.4999, "approve"),
        (0.5, "review"),
        (0.7999, "review"),
        (0.8, "decline"),
        (0.9499, "decline"),
        (0.95, "freeze_account"),
        (1.0, "freeze_account"),
    ],
)
def test_each_threshold_is_the_lowest_score_of_its_action(score: float, action: str) -> None:
    decision = POLICY.decide(score, model_version="m1")
    assert decision.action == action
    assert decision.score == score
    assert decision.model_version == "m1"
    assert decision.policy_id == POLICY.policy_id
    if action != "approve":
        assert "threshold" in decision.reasons[0]
    else:
        assert decision.reasons == ()


def test_a_rule_hit_means_review_at_least_and_is_a_reason() -> None:
    decision = POLICY.decide(0.01, ("amount 5000 above 1000",))
    assert (decision.action, decision.reasons) == ("review", ("amount 5000 above 1000",))
    high = POLICY.decide(0.99, ("amount 5000 above 1000",))
    assert high.action == "freeze_account"
    assert high.reasons[1:] == ("amount 5000 above 1000",)


def test_a_frozen_account_is_declined_whatever_the_score() -> None:
    decision = POLICY.decide(0.0, (), AccountState(frozen=True))
    assert decision.action == "decline"
    assert decision.reasons == ("account frozen",)


def test_the_decision_is_frozen_and_names_its_policy() -> None:
    decision = POLICY.decide(0.3)
    assert isinstance(decision, FraudDecision)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.action = "decline"  # type: ignore[misc]
    assert POLICY.policy_id == "fraud-policy/1 review=0.5 decline=0.8 freeze=0.95"
    assert decision.to_json()["decision"] == "approve"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"review": 0.9, "decline": 0.8}, "thresholds"),
        ({"decline": 0.99, "freeze": 0.9}, "thresholds"),
        ({"review": -0.1}, "review"),
        ({"decline": math.nan}, "decline"),
    ],
)
def test_bad_thresholds_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as caught:
        Thresholds(**kwargs)
    assert caught.value.field == field


def test_a_non_finite_score_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        POLICY.decide(math.nan)
    assert caught.value.field == "score"


LEGIT = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
FRAUD = [0.85, 0.99, 0.3]
SCORES = LEGIT + FRAUD
LABELS = [0] * len(LEGIT) + [1] * len(FRAUD)


@pytest.mark.parametrize(
    ("target", "above", "false_declines", "caught"),
    [
        (0.0, 0.95, 0.0, 1),  # nothing legitimate declined: only the 0.99 fraud
        (0.1, 0.9, 0.1, 1),  # one legitimate payment (0.95) may go
        (0.15, 0.9, 0.1, 1),  # 1.5 payments allowed is still one
        (0.2, 0.8, 0.2, 2),  # 0.9 and 0.95 go; the 0.85 fraud is caught too
        (0.5, 0.5, 0.5, 2),
    ],
)
def test_tuning_declines_at_most_the_target_share_of_legitimate_payments(
    target: float, above: float, false_declines: float, caught: int
) -> None:
    tuning = tune_thresholds(SCORES, LABELS, target)
    assert above < tuning.decline <= math.nextafter(above, math.inf)
    assert tuning.false_decline_rate == pytest.approx(false_declines)
    assert tuning.false_decline_rate <= target
    assert tuning.detection_rate == pytest.approx(caught / 3)
    assert (tuning.legitimate, tuning.frauds) == (10, 3)
    declined_legit = sum(1 for s in LEGIT if s >= tuning.decline)
    assert declined_legit / len(LEGIT) == tuning.false_decline_rate


def test_tuning_never_lets_ties_exceed_the_target() -> None:
    tuning = tune_thresholds([0.5, 0.5, 0.5, 0.1, 0.7], [0, 0, 0, 0, 1], 0.25)
    # One legitimate decline is allowed, but the three tied 0.5s go together or not at all.
    assert tuning.false_decline_rate == 0.0
    assert tuning.detection_rate == 1.0


def test_tuning_is_pure_and_order_free() -> None:
    forward = tune_thresholds(SCORES, LABELS, 0.2)
    backward = tune_thresholds(SCORES[::-1], LABELS[::-1], 0.2)
    assert forward == backward
    assert SCORES == LEGIT + FRAUD


def test_applying_a_tuning_keeps_the_thresholds_ordered() -> None:
    tuning = tune_thresholds(SCORES, LABELS, 0.5)
    applied = tuning.apply(Thresholds(review=0.6, decline=0.8, freeze=0.95))
    assert (applied.review, applied.decline, applied.freeze) == (tuning.decline, tuning.decline, 0.95)
    high = tune_thresholds([0.1, 1.0], [1, 0], 0.0)
    assert high.decline > 1.0
    assert high.apply(Thresholds()).freeze == high.decline


@pytest.mark.parametrize(
    ("scores", "labels", "target", "field"),
    [
        ([0.1, 0.2], [0], 0.1, "labels"),
        ([0.1], [0], 1.0, "target_false_decline_rate"),
        ([0.1], [0], -0.1, "target_false_decline_rate"),
        ([0.1, math.nan], [0, 1], 0.1, "scores[1]"),
        ([0.1], [2], 0.1, "labels[0]"),
        ([0.1], [1], 0.1, "labels"),
    ],
)
def test_tuning_refuses_bad_input_naming_the_field(
    scores: list[float], labels: list[int], target: float, field: str
) -> None:
    with pytest.raises(InputError) as caught:
        tune_thresholds(scores, labels, target)
    assert caught.value.field == field
