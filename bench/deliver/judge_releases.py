"""The release generator of the judge benchmark: per-request samples of a baseline and a canary arm.

What makes it realistic enough to fool a static threshold (and a careless judge):

* a load wave shared by both arms (+/-40 % over a 2-minute period); latency follows it (+/-12 %);
* instance-to-instance variation: each arm runs 3 replicas whose speed differs by a few percent
  (lognormal, sigma 3 %), so two arms of the *same* release are never exactly alike;
* GC stalls: 0.3 % of requests wait an extra 100 ms + a Pareto(2.5) tail;
* upstream error bursts: two or three 3-8 s bursts per 5 minutes in which 15 % of requests in
  *both* arms fail (a dependency, not the release);
* business columns: ``payment_ok`` (the payment went through) and ``declined`` (the fraud engine
  declined it, 4 %).

Bad releases, one kind each: ``errors`` (+5 points of errors), ``tail`` (p99 about 2x with the
median unchanged: 3.5 % of requests 3.5-4.5x slower), ``latency_1_5x`` and ``latency_2x`` (every
request slower) and ``declines`` (decline rate 4 % -> 7 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from finpilot.deliver import Samples

KINDS = ("good", "errors", "tail", "latency_1_5x", "latency_2x", "declines")
RATE = 50.0
"""Requests per second per arm."""


@dataclass(frozen=True)
class World:
    """What both arms share: the load wave and the upstream error bursts."""

    phase: float
    bursts: list[tuple[float, float]]

    def load(self, t: np.ndarray) -> np.ndarray:
        """Relative load at times ``t`` (1.0 on average)."""
        return 1.0 + 0.4 * np.sin(2 * np.pi * t / 120.0 + self.phase)

    def in_burst(self, t: np.ndarray) -> np.ndarray:
        """Whether an upstream error burst is on at times ``t``."""
        hit = np.zeros(t.shape, dtype=bool)
        for start, length in self.bursts:
            hit |= (t >= start) & (t < start + length)
        return hit


def world(rng: np.random.Generator, duration_s: float) -> World:
    """A random shared environment for one release's window."""
    n_bursts = int(rng.integers(2, 4)) * max(1, round(duration_s / 300))
    bursts = [(float(rng.uniform(0, duration_s)), float(rng.uniform(3, 8))) for _ in range(n_bursts)]
    return World(phase=float(rng.uniform(0, 2 * np.pi)), bursts=bursts)


def arm(rng: np.random.Generator, shared: World, duration_s: float, kind: str = "good") -> Samples:
    """One arm's requests over ``[0, duration_s)``, in time order; ``kind`` names the regression, if any."""
    n = int(rng.poisson(RATE * duration_s))
    t = np.sort(rng.uniform(0, duration_s, n))
    replicas = np.exp(rng.normal(0, 0.03, 3))
    speed = replicas[rng.integers(0, 3, n)]
    latency = rng.lognormal(np.log(40.0), 0.35, n) * (0.7 + 0.3 * shared.load(t)) * speed
    stall = rng.random(n) < 0.003
    latency[stall] += 100.0 * (1.0 + rng.pareto(2.5, int(stall.sum())))
    p_error = np.where(shared.in_burst(t), 0.15, 0.003)
    p_decline = np.full(n, 0.04)
    if kind == "errors":
        p_error = p_error + 0.05
    elif kind == "tail":
        slow = rng.random(n) < 0.035
        latency[slow] *= rng.uniform(3.5, 4.5, int(slow.sum()))
    elif kind == "latency_1_5x":
        latency *= 1.5
    elif kind == "latency_2x":
        latency *= 2.0
    elif kind == "declines":
        p_decline = p_decline + 0.03
    error = rng.random(n) < p_error
    declined = (rng.random(n) < p_decline) & ~error
    payment_ok = ~error & ~declined
    return Samples(
        t,
        latency,
        error,
        {"payment_ok": payment_ok.astype(np.float64), "declined": declined.astype(np.float64)},
    )


def release(seed: int, kind: str, duration_s: float) -> tuple[Samples, Samples]:
    """A baseline and a canary arm of one release (``kind`` applies to the canary)."""
    rng = np.random.default_rng(seed)
    shared = world(rng, duration_s)
    return arm(rng, shared, duration_s), arm(rng, shared, duration_s, kind)
