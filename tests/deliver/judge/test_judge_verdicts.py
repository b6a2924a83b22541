"""The judge's verdicts: what must fail, what must pass, and the invariants between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from judge_helpers import arm

from finpilot.core import InputError
from finpilot.deliver import JudgeConfig, Judgement, MetricResult, Samples, judge, next_step
from finpilot.deliver._judge._metrics import holm

RANK = {"fail": 0, "inconclusive": 1, "pass": 2}


def _metric(judgement: Judgement, name: str) -> MetricResult:
    return next(m for m in judgement.metrics if m.name == name)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(200, 3000),
    error_rate=st.floats(0, 0.3),
    slow=st.floats(0, 0.1),
)
def test_identical_arms_never_fail(seed: int, n: int, error_rate: float, slow: float) -> None:
    same = arm(seed, n, error_rate=error_rate, slow_share=slow, slow_factor=5.0, decline_rate=0.05)
    verdict = judge(same, same, JudgeConfig())
    assert verdict.verdict == "pass"
    assert all(m.outcome in ("pass", "no_data") for m in verdict.metrics)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), faster=st.floats(0.3, 1.0), keep=st.floats(0.0, 1.0))
def test_a_canary_better_in_every_way_never_fails(seed: int, faster: float, keep: float) -> None:
    baseline = arm(seed, 2000, error_rate=0.05)
    rng = np.random.default_rng(seed)
    fewer_errors = baseline.error & (rng.random(len(baseline)) < keep)
    canary = Samples(baseline.timestamp, baseline.latency_ms * faster, fewer_errors)
    assert judge(baseline, canary, JudgeConfig()).verdict == "pass"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 0.2), extra=st.floats(0.0, 0.2))
def test_more_canary_errors_never_improve_the_verdict(seed: int, share: float, extra: float) -> None:
    baseline = arm(seed, 1500, error_rate=0.02)
    canary = arm(seed + 1, 1500, error_rate=0.02 + share, scale=1.1)
    rng = np.random.default_rng(seed)
    worse = Samples(canary.timestamp, canary.latency_ms, canary.error | (rng.random(len(canary)) < extra))
    config = JudgeConfig()
    before, after = judge(baseline, canary, config), judge(baseline, worse, config)
    assert RANK[after.verdict] <= RANK[before.verdict]
    assert after.score <= before.score


def test_not_enough_data_is_inconclusive_and_pauses_or_extends_as_configured() -> None:
    verdict = judge(arm(1, 150), arm(2, 5000), JudgeConfig())
    assert (verdict.verdict, verdict.enough_data, verdict.metrics) == ("inconclusive", False, [])
    assert "150 baseline" in verdict.reason
    assert next_step(verdict, JudgeConfig(), 0) == "pause"
    assert next_step(verdict, JudgeConfig(on_not_enough_data="extend"), 0) == "extend"
    assert judge(arm(1, 200), arm(2, 200), JudgeConfig()).enough_data


def test_a_tail_that_doubles_with_the_median_unchanged_fails_on_p99() -> None:
    baseline = arm(3, 6000)
    canary = arm(4, 6000, slow_share=0.035, slow_factor=4.0)
    verdict = judge(baseline, canary, JudgeConfig())
    p50, p99 = _metric(verdict, "latency_p50"), _metric(verdict, "latency_p99")
    assert abs(p50.effect_size - 1) < 0.05
    # The median test alone would pass it: the effect is under its floor whatever the p-value.
    assert p50.outcome in ("pass", "marginal")
    assert p99.effect_size > 1.8
    assert (p99.outcome, verdict.verdict) == ("fail", "fail")


def test_five_more_points_of_errors_fail() -> None:
    verdict = judge(arm(5, 3000, error_rate=0.01), arm(6, 3000, error_rate=0.06), JudgeConfig())
    errors = _metric(verdict, "error_rate")
    assert errors.outcome == "fail"
    assert errors.effect_size == pytest.approx(0.05, abs=0.01)
    assert verdict.verdict == "fail"
    assert "error_rate" in verdict.reason


def test_a_significant_difference_under_the_floor_passes_as_marginal() -> None:
    baseline = arm(7, 200_000, error_rate=0.010)
    canary = arm(8, 200_000, error_rate=0.015)
    verdict = judge(baseline, canary, JudgeConfig())
    errors = _metric(verdict, "error_rate")
    assert errors.p_adjusted < 1e-6
    assert errors.outcome == "marginal"
    assert verdict.verdict == "pass"
    assert judge(baseline, canary, JudgeConfig(error_rate_floor=0.004)).verdict == "fail"


def test_an_slo_guard_fails_a_canary_no_worse_than_its_baseline() -> None:
    baseline, canary = arm(9, 2000, error_rate=0.03), arm(10, 2000, error_rate=0.03)
    assert judge(baseline, canary, JudgeConfig()).verdict == "pass"
    guarded = judge(baseline, canary, JudgeConfig(slo_max_error_rate=0.02))
    assert guarded.verdict == "fail"
    assert guarded.slo_breaches
    assert guarded.reason.startswith("SLO guard")
    slow = judge(baseline, canary, JudgeConfig(slo_max_p99_ms=50.0))
    assert slow.verdict == "fail"
    assert "p99" in slow.slo_breaches[0]


def test_a_critical_failure_fails_whatever_the_score_and_scores_decide_the_rest() -> None:
    baseline, canary = arm(11, 3000, error_rate=0.01), arm(12, 3000, error_rate=0.08)
    lenient = {"critical": (), "pass_score": 70.0, "marginal_score": 50.0}
    assert judge(baseline, canary, JudgeConfig(**lenient)).verdict == "pass"  # 3 of 4 metrics pass: 75
    assert judge(baseline, canary, JudgeConfig(**{**lenient, "critical": ("error_rate",)})).verdict == "fail"
    between = JudgeConfig(critical=(), pass_score=95.0, marginal_score=50.0)
    verdict = judge(baseline, canary, between)
    assert (verdict.verdict, verdict.score) == ("inconclusive", 75.0)
    assert next_step(verdict, between, 0) == "extend"
    assert next_step(verdict, between, between.max_extensions) == "pause"
    assert next_step(verdict, between.model_copy(update={"on_inconclusive": "fail"}), 0) == "rollback"
    heavy = JudgeConfig(critical=(), weights={"error_rate": 3.0}, pass_score=95.0, marginal_score=60.0)
    assert judge(baseline, canary, heavy).verdict == "fail"  # 3 of 6 weight passes: 50


def test_decline_rate_is_judged_both_ways_and_payment_success_one_way() -> None:
    baseline = arm(13, 4000, decline_rate=0.08)
    fewer = arm(14, 4000, decline_rate=0.02)
    verdict = judge(baseline, fewer, JudgeConfig())
    assert _metric(verdict, "decline_rate").outcome == "fail"
    # Fewer declines means more payments through: good for the success rate.
    assert _metric(verdict, "payment_success_rate").outcome == "pass"
    assert verdict.verdict == "fail"
    assert judge(baseline, arm(15, 4000, decline_rate=0.08), JudgeConfig()).verdict == "pass"


def test_business_metrics_without_their_columns_are_no_data() -> None:
    verdict = judge(arm(16, 1000), arm(17, 1000, decline_rate=0.05), JudgeConfig())
    assert _metric(verdict, "decline_rate").outcome == "no_data"
    assert "one arm" in _metric(verdict, "decline_rate").reason
    assert verdict.verdict == "pass"


def test_a_business_column_that_is_not_zero_or_one_is_bad_input() -> None:
    base = arm(18, 500, decline_rate=0.05)
    bad = Samples(base.timestamp, base.latency_ms, base.error, {**base.extra, "declined": base.extra["declined"] * 2})
    with pytest.raises(InputError) as caught:
        judge(base, bad, JudgeConfig())
    assert caught.value.field == "declined"


def test_p99_needs_enough_requests_above_it_to_be_judged() -> None:
    verdict = judge(arm(19, 500), arm(20, 500, slow_share=0.05, slow_factor=10.0), JudgeConfig())
    assert _metric(verdict, "latency_p99").outcome == "no_data"
    assert _metric(verdict, "latency_p95").outcome == "fail"


def test_holm_matches_the_textbook_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([0.2, 0.001, 0.3]) == pytest.approx([0.4, 0.003, 0.4])


def test_config_rejects_a_marginal_score_above_the_pass_score(tmp_path: Path) -> None:
    path = tmp_path / "judge.yaml"
    path.write_text("pass_score: 60\nmarginal_score: 80\n")
    with pytest.raises(InputError):
        JudgeConfig.load(path)
    path.write_text("critical: [error_rate, nonsense]\n")
    with pytest.raises(InputError) as caught:
        JudgeConfig.load(path)
    assert caught.value.field.startswith("critical")


def test_degenerate_arms_give_finite_json_and_an_honest_verdict() -> None:
    n = 2000
    zeros = Samples(np.arange(n, dtype=np.float64), np.zeros(n), np.zeros(n, dtype=np.bool_))
    slow = Samples(np.arange(n, dtype=np.float64), np.full(n, 10.0), np.ones(n, dtype=np.bool_))
    flat = judge(zeros, zeros, JudgeConfig())
    assert flat.verdict == "pass"
    worse = judge(zeros, slow, JudgeConfig())
    assert worse.verdict == "fail"
    for verdict in (flat, worse):
        json.dumps(verdict.model_dump(mode="json"), allow_nan=False)
