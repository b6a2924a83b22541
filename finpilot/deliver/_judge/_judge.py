"""A first, minimal judge: error rate by a one-sided two-proportion test, latency by Mann-Whitney U.

This is the interface the rollout loop and the CLI build on; the full judge (tail percentiles,
business metrics, SLO guards, scores and critical metrics) replaces the body, not the signature.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from finpilot.deliver._judge._model import JudgeConfig, Judgement, MetricResult, Samples


def judge(baseline: Samples, canary: Samples, config: JudgeConfig) -> Judgement:
    """Compare ``canary`` with ``baseline`` over the same window; pure, no clock, no I/O."""
    n_b, n_c = len(baseline), len(canary)
    if min(n_b, n_c) < config.min_requests:
        return Judgement(
            verdict="inconclusive",
            enough_data=False,
            score=0.0,
            reason=f"not enough data: {n_b} baseline and {n_c} canary requests, {config.min_requests} needed",
            baseline_requests=n_b,
            canary_requests=n_c,
            metrics=[],
        )
    metrics = [_error_rate(baseline, canary, config), _latency(baseline, canary, config)]
    failed = [m for m in metrics if m.outcome == "fail"]
    verdict = "fail" if failed else "pass"
    return Judgement(
        verdict=verdict,
        enough_data=True,
        score=100.0 * sum(m.outcome == "pass" for m in metrics) / len(metrics),
        reason="; ".join(m.reason for m in failed) or "no metric is worse beyond its floor",
        baseline_requests=n_b,
        canary_requests=n_c,
        metrics=metrics,
    )


def _error_rate(baseline: Samples, canary: Samples, config: JudgeConfig) -> MetricResult:
    n_b, n_c = len(baseline), len(canary)
    e_b, e_c = int(baseline.error.sum()), int(canary.error.sum())
    p_b, p_c = e_b / n_b, e_c / n_c
    pooled = (e_b + e_c) / (n_b + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_b + 1 / n_c)) or 1e-12
    z = (p_c - p_b) / se
    p_value = float(stats.norm.sf(z))
    worse = p_value < config.alpha and p_c - p_b >= config.error_rate_floor
    return MetricResult(
        name="error_rate",
        baseline=p_b,
        canary=p_c,
        statistic=z,
        p_value=p_value,
        effect_size=p_c - p_b,
        outcome="fail" if worse else "pass",
        critical=True,
        reason=f"error rate {p_c:.4f} against {p_b:.4f}" if worse else "",
    )


def _latency(baseline: Samples, canary: Samples, config: JudgeConfig) -> MetricResult:
    result = stats.mannwhitneyu(canary.latency_ms, baseline.latency_ms, alternative="greater")
    b99, c99 = float(np.quantile(baseline.latency_ms, 0.99)), float(np.quantile(canary.latency_ms, 0.99))
    ratio = c99 / b99 if b99 > 0 else math.inf
    worse = float(result.pvalue) < config.alpha and ratio >= config.latency_ratio_floor
    return MetricResult(
        name="latency_p99",
        baseline=b99,
        canary=c99,
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        effect_size=ratio,
        outcome="fail" if worse else "pass",
        reason=f"p99 latency {c99:.1f} ms against {b99:.1f} ms" if worse else "",
    )
