"""The judge: canary against baseline over the same window, metric by metric, then one verdict.

Kayenta's shape: each metric is compared by a nonparametric test, the p-values of one analysis
are corrected together (Holm), a metric fails only when it is significantly worse *and* its effect
clears the metric's floor, the score is the weighted share of metrics that did not fail, and the
verdict follows from the score, the critical metrics and the hard SLO guards::

    not enough requests in either arm     -> inconclusive, enough_data=False
    a hard SLO guard broken                -> fail
    a critical metric failed               -> fail
    score >= pass_score                    -> pass
    score <  marginal_score                -> fail
    otherwise                              -> inconclusive

:func:`next_step` turns a judgement into what a rollout does next, per the config.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from finpilot.core import InputError
from finpilot.deliver._judge import _metrics
from finpilot.deliver._judge._metrics import Comparison
from finpilot.deliver._judge._model import METRICS, JudgeConfig, Judgement, MetricResult, Outcome, Samples

Step = Literal["continue", "rollback", "pause", "extend"]
"""What a rollout does after an analysis: go on, roll back, wait for a person, or judge a longer window."""

BUSINESS_COLUMNS = {"payment_success_rate": "payment_ok", "decline_rate": "declined"}
"""The optional 0/1 sample columns behind the business metrics."""


def judge(baseline: Samples, canary: Samples, config: JudgeConfig) -> Judgement:
    """Compare ``canary`` with ``baseline`` over the same window; pure, no clock, no I/O."""
    n_b, n_c = len(baseline), len(canary)
    if min(n_b, n_c) < config.min_requests:
        return Judgement(
            verdict="inconclusive",
            enough_data=False,
            score=0.0,
            reason=f"not enough data: {n_b} baseline and {n_c} canary requests, {config.min_requests} needed in each",
            baseline_requests=n_b,
            canary_requests=n_c,
            metrics=[],
        )
    comparisons, absent = _compare(baseline, canary, config)
    adjusted = _metrics.holm([c.p_value for c in comparisons])
    metrics = [_classify(c, p, config) for c, p in zip(comparisons, adjusted, strict=True)]
    metrics += [
        MetricResult(
            name=name,
            baseline=None,
            canary=None,
            statistic=None,
            p_value=None,
            effect_size=None,
            outcome="no_data",
            critical=name in config.critical,
            reason=reason,
            weight=0.0,
        )
        for name, reason in absent
    ]
    metrics.sort(key=lambda m: METRICS.index(m.name))
    breaches = _slo_breaches(canary, config)
    judged = [m for m in metrics if m.outcome != "no_data"]
    total = sum(m.weight for m in judged)
    score = 100.0 * sum(m.weight for m in judged if m.outcome != "fail") / total if total > 0 else 100.0
    failed = [m for m in judged if m.outcome == "fail"]
    critical = [m for m in failed if m.critical]
    if breaches:
        verdict, reason = "fail", "SLO guard: " + "; ".join(breaches)
    elif critical:
        verdict, reason = "fail", "critical metric failed: " + "; ".join(m.reason for m in critical)
    elif score >= config.pass_score:
        verdict, reason = "pass", "; ".join(m.reason for m in failed) or "no metric is worse beyond its floor"
    elif score < config.marginal_score:
        verdict = "fail"
        reason = f"score {score:.1f} below the marginal score {config.marginal_score:g}: " + "; ".join(
            m.reason for m in failed
        )
    else:
        verdict = "inconclusive"
        reason = f"score {score:.1f} between the marginal and pass scores: " + "; ".join(m.reason for m in failed)
    return Judgement(
        verdict=verdict,
        enough_data=True,
        score=round(score, 3),
        reason=reason,
        baseline_requests=n_b,
        canary_requests=n_c,
        metrics=metrics,
        slo_breaches=breaches,
    )


def next_step(judgement: Judgement, config: JudgeConfig, extensions_used: int) -> Step:
    """What a rollout does after ``judgement``, given how often it has already extended this analysis."""
    if judgement.verdict == "pass":
        return "continue"
    if judgement.verdict == "fail":
        return "rollback"
    if not judgement.enough_data:
        return config.on_not_enough_data
    if config.on_inconclusive == "fail":
        return "rollback"
    if config.on_inconclusive == "extend" and extensions_used < config.max_extensions:
        return "extend"
    return "pause"


def _compare(baseline: Samples, canary: Samples, config: JudgeConfig) -> tuple[list[Comparison], list[tuple[str, str]]]:
    wanted = [m for m in METRICS if m not in config.disabled]
    found: list[Comparison] = []
    absent: list[tuple[str, str]] = []
    lat_b, lat_c = baseline.latency_ms, canary.latency_ms
    for name in wanted:
        if name == "error_rate":
            found.append(
                _metrics.rate(
                    name,
                    int(baseline.error.sum()),
                    len(baseline),
                    int(canary.error.sum()),
                    len(canary),
                    bad="higher",
                )
            )
        elif name == "latency_p50":
            found.append(_metrics.median(lat_b, lat_c))
        elif name in ("latency_p95", "latency_p99"):
            q = 0.95 if name == "latency_p95" else 0.99
            # A percentile estimated from a handful of requests above it is noise, and so is any test on it.
            needed = math.ceil(config.tail_min_exceedances / (1 - q) - 1e-9)
            if min(len(baseline), len(canary)) < needed:
                absent.append((name, f"{needed} requests per arm needed to judge the p{round(q * 100)}"))
                continue
            found.append(_metrics.tail(name, q, lat_b, lat_c))
        else:
            column = BUSINESS_COLUMNS[name]
            col_b, col_c = baseline.extra.get(column), canary.extra.get(column)
            if col_b is None or col_c is None:
                absent.append((name, f"no '{column}' column in {'both arms' if col_b is col_c else 'one arm'}"))
                continue
            for col in (col_b, col_c):
                if not bool(np.all((col == 0) | (col == 1))):
                    raise InputError(f"the '{column}' column holds a value other than 0 or 1", field=column)
            bad = "lower" if name == "payment_success_rate" else "either"
            found.append(_metrics.rate(name, int(col_b.sum()), col_b.size, int(col_c.sum()), col_c.size, bad=bad))
    return found, absent


def _floor(name: str, config: JudgeConfig) -> float:
    if name == "error_rate":
        return config.error_rate_floor
    if name == "latency_p50":
        return config.median_ratio_floor
    if name == "latency_p95":
        return config.p95_ratio_floor
    if name == "latency_p99":
        return config.latency_ratio_floor
    return config.business_rate_floor


def _over_floor(c: Comparison, floor: float) -> bool:
    if c.name.startswith("latency_"):
        return c.effect_size >= floor
    return abs(c.effect_size) >= floor


def _classify(c: Comparison, p_adjusted: float, config: JudgeConfig) -> MetricResult:
    floor = _floor(c.name, config)
    significant = c.worse and p_adjusted < config.alpha
    outcome: Outcome = "pass"
    reason = ""
    if significant and _over_floor(c, floor):
        outcome = "fail"
        reason = f"{c.name} {_show(c.name, c.canary)} against {_show(c.name, c.baseline)} (p={p_adjusted:.2g})"
    elif significant:
        outcome = "marginal"
        reason = f"{c.name} significantly worse but under its floor {floor:g}"
    return MetricResult(
        name=c.name,
        baseline=c.baseline,
        canary=c.canary,
        statistic=c.statistic,
        p_value=c.p_value,
        effect_size=c.effect_size,
        outcome=outcome,
        critical=c.name in config.critical,
        reason=reason,
        test=c.test,
        p_adjusted=p_adjusted,
        floor=floor,
        weight=config.weights.get(c.name, 1.0),  # type: ignore[call-overload]
    )


def _show(name: str, value: float) -> str:
    return f"{value:.1f} ms" if name.startswith("latency_") else f"{value:.2%}"


def _slo_breaches(canary: Samples, config: JudgeConfig) -> list[str]:
    breaches = []
    if config.slo_max_error_rate is not None:
        rate = float(canary.error.mean())
        if rate > config.slo_max_error_rate:
            breaches.append(f"canary error rate {rate:.2%} above {config.slo_max_error_rate:.2%}")
    if config.slo_max_p99_ms is not None:
        p99 = float(np.quantile(canary.latency_ms, 0.99))
        if p99 > config.slo_max_p99_ms:
            breaches.append(f"canary p99 {p99:.1f} ms above {config.slo_max_p99_ms:g} ms")
    return breaches
