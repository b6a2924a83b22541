"""The one query interface that every metrics backend implements, and the facts it returns.

The embedded store (SQLite, local) and a real Prometheus (its HTTP API) both implement
:class:`MetricsQuery`, with PromQL's meaning for each call, so the canary judge, the healer, the
alert rules and the console read metrics the same way whichever backend is configured.

Selectors are PromQL instant-vector selectors: ``name{label="v", other=~"re.*", x!="y"}``.
Times are Unix seconds (float). A range read evaluates at ``start, start+step, ... <= end`` and,
like Prometheus, takes at each step the newest sample at or before it, no older than
:data:`LOOKBACK_S`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

LOOKBACK_S = 300.0
"""How far back a range read looks for a sample at each step (Prometheus' default, 5 minutes)."""

Aggregation = Literal["sum", "avg", "min", "max", "count"]
"""The aggregation operators every backend supports."""


@dataclass(frozen=True)
class Sample:
    """One scraped value of one series, as stored."""

    name: str
    labels: Mapping[str, str]
    timestamp: float
    value: float


@dataclass(frozen=True)
class Series:
    """One series over a range: its identity and its (timestamp, value) points, oldest first."""

    name: str
    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]] = field(default_factory=tuple)


class MetricsQuery(Protocol):
    """Range reads and aggregations over stored metrics (PromQL semantics)."""

    def describe(self) -> str:
        """Where the samples come from, for evidence and error messages (e.g. ``sqlite:/path``)."""
        ...

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        """The series that match ``selector`` and have samples in ``[start, end]`` (no points)."""
        ...

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        """The matching series evaluated at every step (raw values, newest sample within the look-back)."""
        ...

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        """Per-second rate of counters over ``window`` seconds, at every step (``rate(sel[window])``)."""
        ...

    def aggregate(
        self,
        op: Aggregation,
        selector: str,
        start: float,
        end: float,
        step: float,
        by: Sequence[str] = (),
        rate_window: float | None = None,
    ) -> list[Series]:
        """``op by (by) (sel)``, or of ``rate(sel[rate_window])`` when a window is given."""
        ...

    def histogram_quantile(
        self,
        q: float,
        selector: str,
        start: float,
        end: float,
        step: float,
        window: float,
        by: Sequence[str] = (),
    ) -> list[Series]:
        """``histogram_quantile(q, sum by (le, by) (rate(sel[window])))``; ``sel`` names ``_bucket`` series."""
        ...
