"""One function per metric: the test, its one-sided (or two-sided) p-value and the effect size.

Each returns a :class:`Comparison`; the judge then corrects the p-values for the number of metrics
(Holm) and applies the floors. The tests, and why each:

* rates (errors, payment success, declines): Fisher's exact test on the 2x2 table. Exact at any
  count, so a window with three errors is judged honestly rather than by a normal approximation.
* median latency: Mann-Whitney U, one-sided (canary slower). It sees a shift of the whole
  distribution but is nearly blind to a tail that moves while the body stays put.
* p95 and p99 latency: an exceedance test. The threshold is the pooled arms' quantile; under the
  null hypothesis (both arms from one distribution) every request exceeds it with the same
  probability whatever arm it is in, so Fisher's exact test on the exceedance counts is valid
  without a distributional assumption. A tail that doubles puts several times the share of canary
  requests above the pooled p99 and is caught while the median has not moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from finpilot.deliver._judge._model import Samples


@dataclass(frozen=True)
class Comparison:
    """The raw comparison of one metric, before correction and floors."""

    name: str
    baseline: float
    canary: float
    statistic: float
    p_value: float
    effect_size: float
    test: str
    worse: bool
    """Whether the canary's value is on the bad side of the baseline's (the direction the floor applies to)."""


def rate(name: str, hits_b: int, n_b: int, hits_c: int, n_c: int, *, bad: str) -> Comparison:
    """A rate compared by Fisher's exact test; ``bad`` is ``"higher"``, ``"lower"`` or ``"either"``.

    The effect size is the difference canary minus baseline (absolute, 0.05 = 5 points).
    """
    table = [[hits_c, n_c - hits_c], [hits_b, n_b - hits_b]]
    alternative = {"higher": "greater", "lower": "less", "either": "two-sided"}[bad]
    result = stats.fisher_exact(table, alternative=alternative)
    p_b, p_c = hits_b / n_b, hits_c / n_c
    diff = p_c - p_b
    worse = diff > 0 if bad == "higher" else diff < 0 if bad == "lower" else diff != 0
    odds = float(result.statistic)
    return Comparison(
        name=name,
        baseline=p_b,
        canary=p_c,
        statistic=min(odds, RATIO_CAP) if np.isfinite(odds) else RATIO_CAP,
        p_value=float(result.pvalue),
        effect_size=diff,
        test=f"fisher-exact ({alternative})",
        worse=worse,
    )


def median(baseline: npt.NDArray[np.float64], canary: npt.NDArray[np.float64]) -> Comparison:
    """Median latency by Mann-Whitney U (canary greater); the effect size is the ratio of medians."""
    result = stats.mannwhitneyu(canary, baseline, alternative="greater", method="asymptotic")
    p_value = float(result.pvalue)
    # Every latency equal in both arms: no rank can differ, and scipy's variance is 0 (a NaN p-value).
    p_value = 1.0 if np.isnan(p_value) else p_value
    m_b, m_c = float(np.median(baseline)), float(np.median(canary))
    ratio = _ratio(m_c, m_b)
    return Comparison(
        name="latency_p50",
        baseline=m_b,
        canary=m_c,
        statistic=float(result.statistic),
        p_value=p_value,
        effect_size=ratio,
        test="mann-whitney-u (greater)",
        worse=ratio > 1,
    )


def tail(name: str, q: float, baseline: npt.NDArray[np.float64], canary: npt.NDArray[np.float64]) -> Comparison:
    """The ``q`` quantile by an exceedance test over the pooled quantile; the effect size is the ratio of quantiles.

    The statistic is the canary's share of requests above the pooled threshold divided by the baseline's.
    """
    threshold = float(np.quantile(np.concatenate([baseline, canary]), q))
    over_b = int(np.count_nonzero(baseline > threshold))
    over_c = int(np.count_nonzero(canary > threshold))
    n_b, n_c = baseline.size, canary.size
    result = stats.fisher_exact([[over_c, n_c - over_c], [over_b, n_b - over_b]], alternative="greater")
    q_b, q_c = float(np.quantile(baseline, q)), float(np.quantile(canary, q))
    ratio = _ratio(q_c, q_b)
    share_ratio = _ratio(over_c / n_c, over_b / n_b)
    return Comparison(
        name=name,
        baseline=q_b,
        canary=q_c,
        statistic=share_ratio,
        p_value=float(result.pvalue),
        effect_size=ratio,
        test=f"exceedance over the pooled p{round(q * 100)}, fisher-exact (greater)",
        worse=ratio > 1,
    )


RATIO_CAP = 1e12
"""Ratios (and odds ratios) are capped here: a ratio over a zero baseline is "huge", and JSON and the
ledger's canonical encoding have no infinity."""


def _ratio(top: float, bottom: float) -> float:
    if bottom > 0:
        return min(top / bottom, RATIO_CAP)
    return 1.0 if top == 0 else RATIO_CAP


def binary_column(samples: Samples, name: str) -> npt.NDArray[np.float64] | None:
    """An optional 0/1 column, or None when this arm does not have it."""
    return samples.extra.get(name)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control without independence assumptions)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
