"""A real Prometheus as a :class:`MetricsQuery`, through its HTTP API (``/api/v1/query_range``, ``/api/v1/series``).

Every call becomes one PromQL expression built from a parsed selector (see ``_promql_text``), sent
with POST so a long selector never meets a URL length limit. Prometheus refuses a range query of
more than 11,000 points per series, so longer ranges are asked for in chunks on the same step
grid and joined.

Errors never leak httpx: a Prometheus that cannot be reached, times out or answers with
something that is not its API is a :class:`MetricsUnavailableError` naming the URL; a query
Prometheus rejects (``bad_data``, ``execution``) is a :class:`QueryError` carrying its message.

Result series keep the selector's metric name even where PromQL drops it (``rate``,
aggregations, ``histogram_quantile``), so callers can tell what they asked for; their labels
never include ``__name__``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from finpilot.core import WatchSettings, http_client
from finpilot.watch._errors import MetricsUnavailableError, QueryError, WatchInputError
from finpilot.watch._metrics import _promql, _promql_text
from finpilot.watch._metrics._types import Aggregation, Series

MAX_POINTS = 11_000
"""Prometheus' limit on the points of one series in one range query."""

_AGGREGATIONS = ("sum", "avg", "min", "max", "count")


class PrometheusQuery:
    """Reads metrics from a real Prometheus; implements :class:`MetricsQuery`.

    ``base_url`` is where Prometheus answers (``http://prometheus:9090``, or with a path prefix
    when it runs behind one); ``timeout`` bounds each HTTP request in seconds. Close it (or use it
    as a context manager) to release its connections.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        """Check ``base_url`` and open a connection pool (nothing is sent until the first call)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WatchInputError(
                f"the Prometheus URL {base_url!r} is not an http(s) URL with a host",
                field="watch.prometheus_url",
                fix="set watch.prometheus_url to e.g. http://127.0.0.1:9090",
            )
        if not (math.isfinite(timeout) and timeout > 0):
            raise WatchInputError(f"timeout is {timeout!r}", field="timeout", fix="give a positive number of seconds")
        self.base_url = base_url.rstrip("/")
        self._client = client or http_client(timeout_s=timeout)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> PrometheusQuery:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def describe(self) -> str:
        """``prometheus:<base url>``."""
        return f"prometheus:{self.base_url}"

    def series(self, selector: str, start: float, end: float) -> list[Series]:
        """The series matching ``selector`` with samples in ``[start, end]`` (``/api/v1/series``)."""
        sel = _promql.parse_selector(selector)
        _check_range(start, end, None)
        data = self._call("series", {"match[]": _promql_text.selector_text(sel), "start": _ts(start), "end": _ts(end)})
        if not isinstance(data, list):
            raise self._not_api("the series answer is not a list")
        found = [
            Series(name=str(item.get("__name__", sel.name)), labels=_labels(item))
            for item in data
            if isinstance(item, dict)
        ]
        return sorted(found, key=_order)

    def range(self, selector: str, start: float, end: float, step: float) -> list[Series]:
        """Raw values at every step (``query_range`` of the selector itself)."""
        sel = _promql.parse_selector(selector)
        return self._range(_promql_text.selector_text(sel), sel.name or "", start, end, step)

    def rate(self, selector: str, start: float, end: float, step: float, window: float) -> list[Series]:
        """``rate(sel[window])`` at every step."""
        sel = _promql.parse_selector(selector)
        return self._range(_promql_text.rate_expr(sel, window), sel.name or "", start, end, step)

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
        if op not in _AGGREGATIONS:
            raise QueryError(
                f"aggregation {op!r} is not supported", field="op", fix=f"use one of {', '.join(_AGGREGATIONS)}"
            )
        sel = _promql.parse_selector(selector)
        inner = _promql_text.selector_text(sel) if rate_window is None else _promql_text.rate_expr(sel, rate_window)
        return self._range(f"{op} {_promql_text.by_clause(by)} ({inner})", sel.name or "", start, end, step)

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
        sel = _promql.parse_selector(selector)
        return self._range(_promql_text.quantile_expr(q, sel, window, by), sel.name or "", start, end, step)

    def _range(self, expr: str, name: str, start: float, end: float, step: float) -> list[Series]:
        _check_range(start, end, step)
        merged: dict[tuple[tuple[str, str], ...], tuple[str, dict[str, str], list[tuple[float, float]]]] = {}
        for chunk_start, chunk_end in chunks(start, end, step):
            data = self._call(
                "query_range",
                {"query": expr, "start": _ts(chunk_start), "end": _ts(chunk_end), "step": _ts(step)},
            )
            if not isinstance(data, dict) or data.get("resultType") != "matrix":
                raise self._not_api("a range query did not answer a matrix")
            for item in data.get("result") or []:
                if not isinstance(item, dict) or not isinstance(item.get("metric", {}), dict):
                    raise self._not_api("a range result is not a series")
                metric = item.get("metric") or {}
                labels = _labels(metric)
                key = tuple(sorted(labels.items()))
                entry = merged.setdefault(key, (str(metric.get("__name__", name)), labels, []))
                entry[2].extend((float(t), parse_value(v)) for t, v in item.get("values") or [])
        found = [Series(name=n, labels=labels, points=tuple(points)) for n, labels, points in merged.values()]
        return sorted(found, key=_order)

    def _call(self, endpoint: str, form: Mapping[str, str]) -> Any:
        url = f"{self.base_url}/api/v1/{endpoint}"
        try:
            response = self._client.post(url, data=dict(form))
        except httpx.TimeoutException:
            raise MetricsUnavailableError(
                f"Prometheus at {self.base_url} did not answer {endpoint} in time",
                field="watch.prometheus_url",
                fix="check that Prometheus is up and not overloaded, or ask for a shorter range or a larger step",
            ) from None
        except httpx.HTTPError as exc:
            raise MetricsUnavailableError(
                f"cannot reach Prometheus at {self.base_url}: {type(exc).__name__}",
                field="watch.prometheus_url",
                fix=f"start Prometheus or correct watch.prometheus_url (now {self.base_url})",
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            raise self._not_api(f"{endpoint} answered HTTP {response.status_code} without a Prometheus API body")
        if body["status"] == "success":
            return body.get("data")
        kind, message = str(body.get("errorType", "")), str(body.get("error", ""))
        if kind in ("bad_data", "execution") or response.status_code in (400, 422):
            raise QueryError(
                f"Prometheus at {self.base_url} rejected the query: {message}",
                field="selector",
                fix="correct the selector, window or range named in the message",
            )
        raise MetricsUnavailableError(
            f"Prometheus at {self.base_url} failed the query ({kind or response.status_code}): {message}",
            field="watch.prometheus_url",
            fix="retry later; see Prometheus' own log",
        )

    def _not_api(self, what: str) -> MetricsUnavailableError:
        return MetricsUnavailableError(
            f"{self.base_url} is not a Prometheus HTTP API: {what}",
            field="watch.prometheus_url",
            fix="point watch.prometheus_url at Prometheus itself (the URL that serves /api/v1/query)",
        )


def prometheus_query_from_settings(settings: WatchSettings, *, timeout: float = 10.0) -> PrometheusQuery | None:
    """A :class:`PrometheusQuery` for ``watch.prometheus_url``, or None when it is not set (use the embedded store)."""
    if not settings.prometheus_url:
        return None
    return PrometheusQuery(settings.prometheus_url, timeout=timeout)


def chunks(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """``[start, end]`` cut into pieces of at most :data:`MAX_POINTS` steps each, on the same step grid."""
    # Unix times near 2e9 carry ~1e-7 s of float error: an end a hair short of a grid point still
    # means that point (Prometheus itself rounds times to milliseconds).
    points = math.floor((end - start) / step + 1e-3) + 1
    out: list[tuple[float, float]] = []
    first = 0
    while first < points:
        last = min(points, first + MAX_POINTS) - 1
        # Multiplying from start (not adding steps) keeps every chunk on the caller's grid exactly.
        out.append((start + first * step, min(end, start + last * step)))
        first = last + 1
    return out


def parse_value(text: object) -> float:
    """A Prometheus sample value (a JSON string such as ``"1.5"``, ``"NaN"``, ``"+Inf"``) as a float."""
    if not isinstance(text, str):
        raise QueryError(
            f"a sample value is {text!r}, not a string", field="value", fix="report this Prometheus answer"
        )
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise QueryError(f"a sample value is {text!r}", field="value", fix="report this Prometheus answer") from None


def _ts(value: float) -> str:
    return repr(float(value))


def _labels(metric: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in metric.items() if k != "__name__"}


def _order(series: Series) -> tuple[str, tuple[tuple[str, str], ...]]:
    return series.name, tuple(sorted(series.labels.items()))


def _check_range(start: float, end: float, step: float | None) -> None:
    if not (math.isfinite(start) and math.isfinite(end)):
        raise QueryError(f"the range is {start!r}..{end!r}", field="start", fix="give finite Unix times in seconds")
    if end < start:
        raise QueryError(f"end {end!r} is before start {start!r}", field="end", fix="give end >= start")
    if step is not None and not (math.isfinite(step) and step > 0):
        raise QueryError(f"step is {step!r}", field="step", fix="give a positive step in seconds")
