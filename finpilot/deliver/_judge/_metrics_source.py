"""Both arms of a rollout read from a metrics backend (the embedded store or a real Prometheus).

The judge compares per-request samples; a metrics backend holds counters and histogram buckets.
:class:`MetricsSampleSource` turns one arm's router metrics over the window into samples:

* ``n``, the number of requests: the increase of ``finpilot_router_requests_total`` over the window;
* ``e`` of them are errors: the increase of ``finpilot_router_errors_total`` (connection-level
  failures) plus that of ``finpilot_router_responses_total{code="5xx"}`` (the replica answered
  with a server error), at most ``n``, spread evenly through the arm's requests (where they fall
  in time does not change any test the judge runs);
* their latencies: the ``n`` evenly spaced ranks of the latency histogram
  (``finpilot_router_upstream_seconds_bucket``), each read the way ``histogram_quantile`` reads a
  rank (linear within its bucket, the highest finite bound for the +Inf bucket).

So the judge sees each arm's latency distribution at its histogram's resolution: a shift inside
one bucket is invisible, a shift across buckets is seen. The arm is known by its replicas'
``backend`` label: the runtime names an arm's replicas ``<service>-<arm>/<index>@<node>``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError, NotFoundError
from finpilot.deliver._judge._model import Samples
from finpilot.deliver._judge._source import SampleSet, rollout_parts
from finpilot.watch import MetricsQuery

REQUESTS = "finpilot_router_requests_total"
"""Attempts the router sent to a replica (labels ``service``, ``backend``)."""
ERRORS = "finpilot_router_errors_total"
"""Attempts that failed at the connection level."""
RESPONSES = "finpilot_router_responses_total"
"""Responses relayed from a replica, by status class (label ``code``: ``2xx`` ... ``5xx``)."""
LATENCY = "finpilot_router_upstream_seconds_bucket"
"""The router's per-replica latency histogram, in seconds."""


class MetricsSampleSource:
    """A :class:`SampleSource` over any :class:`MetricsQuery`: the router's per-replica metrics, per arm.

    ``window_s`` is the window judged when the caller gives none; ``clock`` gives "now" (the
    window's end), so a test can pin it.
    """

    def __init__(
        self,
        query: MetricsQuery,
        *,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Read rollouts' arms through ``query``."""
        if not (math.isfinite(window_s) and window_s > 0):
            raise InputError(f"window_s is {window_s!r}", field="window_s", fix="give a positive number of seconds")
        self.query = query
        self.window_s = window_s
        self.clock = clock

    def samples(self, rollout: str, *, window_s: float | None = None) -> SampleSet:
        """Both arms of ``rollout`` over the last ``window_s`` seconds (the source's default without one)."""
        service = rollout_parts(rollout)[-1]
        window = self.window_s if window_s is None else window_s
        if not (math.isfinite(window) and window > 0):
            raise InputError(f"window_s is {window!r}", field="window_s", fix="give a positive number of seconds")
        end = self.clock()
        arms = {arm: self._arm(service, arm, end, window) for arm in ("baseline", "canary")}
        if all(len(s) == 0 for s in arms.values()):
            raise NotFoundError(
                f"no requests to either arm of {service} in the {window:g} s before {end:.0f}",
                fix=f"check that the metrics backend scrapes the router and has {REQUESTS} for {service}",
            )
        return SampleSet(
            arms["baseline"],
            arms["canary"],
            f"metrics:{self.query.describe()} service={service} window={window:g}s end={end:.3f}",
        )

    def _arm(self, service: str, arm: str, end: float, window: float) -> Samples:
        # re.escape makes the service a literal inside the regular expression; the selector quoting
        # then escapes its backslashes for PromQL.
        matcher = f'service="{service}", backend=~"{_promql_escape(re.escape(f"{service}-{arm}") + "/.*")}"'
        requests = self._increase(f"{REQUESTS}{{{matcher}}}", end, window)
        failed_5xx = self._increase(f'{RESPONSES}{{{matcher}, code="5xx"}}', end, window)
        errors = min(self._increase(f"{ERRORS}{{{matcher}}}", end, window) + failed_5xx, requests)
        latencies = self._latencies(f"{LATENCY}{{{matcher}}}", end, window, requests)
        times = end - window + (np.arange(requests, dtype=np.float64) + 0.5) * (window / max(requests, 1))
        failed = np.zeros(requests, dtype=np.bool_)
        if errors:
            failed[(np.arange(errors) * requests) // errors] = True
        return Samples.from_rows(zip(times.tolist(), latencies.tolist(), failed.tolist(), strict=True))

    def _increase(self, selector: str, end: float, window: float) -> int:
        found = self.query.aggregate("sum", selector, end, end, window, rate_window=window)
        values = [v for s in found for _, v in s.points if math.isfinite(v)]
        return max(0, round(sum(values) * window))

    def _latencies(self, selector: str, end: float, window: float, n: int) -> npt.NDArray[np.float64]:
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        found = self.query.aggregate("sum", selector, end, end, window, by=("le",), rate_window=window)
        buckets: list[tuple[float, float]] = []
        for series in found:
            try:
                bound = float(series.labels.get("le", ""))
            except ValueError:
                continue
            if series.points and math.isfinite(series.points[-1][1]):
                buckets.append((bound, series.points[-1][1] * window))
        buckets.sort()
        finite = [(b, c) for b, c in buckets if math.isfinite(b)]
        if not finite:
            raise NotFoundError(
                f"{n} requests but no latency histogram for {selector}",
                fix=f"check that the metrics backend scrapes {LATENCY} from the router",
            )
        # Cumulative counts can dip by rounding across scrapes; a running maximum keeps them monotone.
        counts = np.maximum.accumulate(np.array([c for _, c in finite], dtype=np.float64))
        bounds = np.array([b for b, _ in finite], dtype=np.float64)
        total = max(buckets[-1][1], float(counts[-1]))
        if total <= 0:
            raise NotFoundError(f"no latency observations for {selector}", fix=f"check {LATENCY} is scraped")
        ranks = (np.arange(n, dtype=np.float64) + 0.5) / n * total
        return np.asarray(read_ranks(bounds, counts, ranks) * 1000.0, dtype=np.float64)


def read_ranks(
    bounds: npt.NDArray[np.float64], counts: npt.NDArray[np.float64], ranks: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Each rank read from cumulative buckets as ``histogram_quantile`` reads one.

    ``bounds`` are the finite upper bounds (ascending) and ``counts`` their cumulative counts; a
    rank past the last one (in +Inf) reads as the highest finite bound; the first bucket starts at 0.
    """
    k = np.searchsorted(counts, ranks, side="left")
    inside = k < bounds.size
    kk = np.minimum(k, bounds.size - 1)
    prev = np.maximum(kk - 1, 0)
    first_lower = 0.0 if bounds[0] > 0 else float(bounds[0])
    lower_b = np.where(kk > 0, bounds[prev], first_lower)
    lower_c = np.where(kk > 0, counts[prev], 0.0)
    span = counts[kk] - lower_c
    # Ranks past the last finite bucket are replaced below; capping them keeps the share within 0..1.
    capped = np.minimum(ranks, counts[kk])
    share = np.clip(np.divide(capped - lower_c, span, out=np.ones_like(ranks), where=span > 0), 0.0, 1.0)
    value = lower_b + (bounds[kk] - lower_b) * share
    return np.asarray(np.where(inside, value, bounds[-1]), dtype=np.float64)


def _promql_escape(pattern: str) -> str:
    """A regular expression as the inside of a double-quoted PromQL string."""
    return pattern.replace("\\", "\\\\").replace('"', '\\"')
