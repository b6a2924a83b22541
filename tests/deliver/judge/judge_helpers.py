"""Helpers shared by the judge tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from finpilot.deliver import Samples


def arm(
    seed: int,
    n: int = 3000,
    *,
    error_rate: float = 0.01,
    scale: float = 1.0,
    slow_share: float = 0.0,
    slow_factor: float = 1.0,
    decline_rate: float | None = None,
) -> Samples:
    """One arm of ``n`` requests at 50/s: lognormal latency around 40 ms, Bernoulli errors (and declines)."""
    rng = np.random.default_rng(seed)
    latency = rng.lognormal(np.log(40.0), 0.35, n) * scale
    if slow_share:
        slow = rng.random(n) < slow_share
        latency[slow] *= slow_factor
    error = rng.random(n) < error_rate
    extra = {}
    if decline_rate is not None:
        declined = (rng.random(n) < decline_rate) & ~error
        extra = {"declined": declined.astype(np.float64), "payment_ok": (~error & ~declined).astype(np.float64)}
    return Samples(np.arange(n, dtype=np.float64) / 50.0, latency, error, extra)


def write_csv(path: Path, samples: Samples) -> Path:
    """Write ``samples`` as a samples CSV (with its extra columns)."""
    names = list(samples.extra)
    lines = [",".join(["timestamp", "latency_ms", "error", *names])]
    for i in range(len(samples)):
        cells = [f"{samples.timestamp[i]:.3f}", f"{samples.latency_ms[i]:.3f}", str(int(samples.error[i]))]
        cells += [str(int(samples.extra[name][i])) for name in names]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
