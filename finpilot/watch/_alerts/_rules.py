"""Alert rules: the YAML schema, strict loading with file, line and field, and evaluation.

Three kinds of rule, one file format::

    rules:
      - alert: PaymentsLatencyHigh          # a metric rule (type: metric is the default)
        query: {function: quantile, quantile: 0.99, window: 5m,
                selector: 'http_request_duration_seconds_bucket{service="payments"}', by: [replica]}
        op: ">"
        threshold: 0.5
        for: 2m
        labels: {severity: warning, service: payments}
        annotations: {summary: "p99 {value}s on {labels.replica} (limit {threshold}s)"}
      - alert: LatencyAnomaly               # an anomaly event becomes an alert
        type: anomaly
        series: http_request_duration_seconds.*
        min_score: 0.9
        labels: {severity: warning}
      - alert: DiskFullSoon                 # a forecast that crosses a limit within its horizon
        type: proactive
        series: disk_used_bytes
        bound: upper
        threshold: 9.0e11
        labels: {severity: critical}

A metric rule must hold for ``for`` before it fires (pending until then); an anomaly or
proactive rule fires at once. A proactive alert fires *before* the breach and says when it
is expected (``breach_expected_at``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from finpilot.core import ConfigError, FieldProblem, StrictModel, line_for, read_yaml, rfc3339
from finpilot.watch._alerts._duration import Duration
from finpilot.watch._alerts._matchers import Matcher, all_match, parse_matcher
from finpilot.watch._alerts._model import SEVERITIES, Signal, chart_view, narrowed_selector, selector_text
from finpilot.watch._alerts._templates import check_template, number, render
from finpilot.watch._detect._contract import Anomaly
from finpilot.watch._errors import AlertConfigError
from finpilot.watch._forecast._types import Forecast
from finpilot.watch._metrics._read import ReadKind, read_computed
from finpilot.watch._metrics._types import Aggregation, MetricsQuery, Series

Op = Literal[">", ">=", "<", "<=", "==", "!="]
"""How a value is compared with a rule's threshold."""

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _breaks(value: float, op: str, threshold: float) -> bool:
    return not math.isnan(value) and _OPS[op](value, threshold)


class _RuleBase(StrictModel):
    alert: str = Field(pattern=_NAME, description="The alert's name (its alertname label).")
    name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.:-]+$", description="Rule id when two rules share an alert name."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, validate_default=True, description="Labels added to the alert, incl. severity."
    )
    annotations: dict[str, str] = Field(default_factory=dict, description="Text for people; templates allowed.")

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if re.match(_NAME, key) is None:
                raise FieldProblem(f"'{key}' is not a label name", fix="use letters, digits and _")
        severity = labels.setdefault("severity", "warning")
        if severity not in SEVERITIES:
            raise FieldProblem(
                f"severity '{severity}' is not one of {', '.join(SEVERITIES)}", path=("severity",), fix="pick one"
            )
        return labels

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, annotations: dict[str, str]) -> dict[str, str]:
        for key, text in annotations.items():
            try:
                check_template(text)
            except FieldProblem as exc:
                raise FieldProblem(exc.problem, path=(key,), fix=exc.fix) from None
        return annotations

    @property
    def rule_id(self) -> str:
        """The rule's identity: ``name``, else the alert name."""
        return self.name or self.alert

    def _labels_for(self, series_labels: Mapping[str, str]) -> dict[str, str]:
        labels = {k: v for k, v in series_labels.items() if k != "__name__"}
        labels.update(self.labels)
        labels["alertname"] = self.alert
        return labels

    def _annotate(self, labels: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
        return {key: render(text, variables, labels) for key, text in self.annotations.items()}


_READ_KINDS: dict[str, ReadKind] = {"value": "raw", "rate": "rate", "quantile": "quantile"}
"""A rule's ``function`` as the read kind it asks for."""


class MetricQuerySpec(StrictModel):
    """What a metric rule reads: a selector, and a rate, a quantile or the raw value, maybe aggregated."""

    selector: str = Field(min_length=1, description="PromQL selector, e.g. 'errors_total{service=\"payments\"}'.")
    function: Literal["value", "rate", "quantile"] = Field(default="value", description="What to compute.")
    window: Duration | None = Field(default=None, description="Range of rate() and quantile(), e.g. 5m.")
    quantile: float | None = Field(default=None, gt=0, lt=1, description="quantile: which one, e.g. 0.99.")
    aggregate: Aggregation | None = Field(default=None, description="value/rate: sum, avg, min, max or count.")
    by: list[str] = Field(default_factory=list, description="Labels kept by the aggregation (or the quantile).")

    @model_validator(mode="after")
    def _complete(self) -> MetricQuerySpec:
        if self.function in ("rate", "quantile") and not self.window:
            raise FieldProblem(f"{self.function} needs a window", path=("window",), fix="e.g. window: 5m")
        if self.function == "quantile" and self.quantile is None:
            raise FieldProblem("quantile needs quantile", path=("quantile",), fix="e.g. quantile: 0.99")
        if self.function == "quantile" and self.aggregate is not None:
            raise FieldProblem(
                "a quantile sums its buckets itself", path=("aggregate",), fix="remove aggregate; use by"
            )
        return self

    def chart(self, found: Series) -> tuple[str, dict[str, str]]:
        """The series ``found`` as a selector of stored series, and how to compute it, for the alert's link.

        A rate, an aggregation or a quantile has no metric name of its own; its series is the rule's
        selector narrowed to the result's labels, and the view (kind, window, quantile, grouping)
        tells the Metrics page to compute the same thing, so the link charts what fired.
        """
        if found.name:
            return selector_text(found.name, found.labels), {}
        kind = _READ_KINDS[self.function]
        view = chart_view(kind, self.window, self.quantile, self.aggregate, self.by)
        return narrowed_selector(self.selector, found.labels), view

    def read(self, query: MetricsQuery, now: float) -> list[Series]:
        """The series this query gives at ``now`` (one instant: start = end = now)."""
        kind = _READ_KINDS[self.function]
        return read_computed(
            query,
            self.selector,
            kind,
            now,
            now,
            1.0,
            window=self.window or 0.0,
            quantile=self.quantile if self.quantile is not None else 0.99,
            aggregate=self.aggregate,
            by=self.by,
        )


class MetricRule(_RuleBase):
    """Fires when a metric read breaks a threshold for ``for`` seconds."""

    type: Literal["metric"] = "metric"
    query: MetricQuerySpec = Field(description="What to read.")
    op: Op = Field(default=">", description="How the value is compared with the threshold.")
    threshold: float = Field(description="The limit.")
    for_: Duration = Field(default=0.0, alias="for", description="How long it must hold before firing, e.g. 2m.")

    def evaluate(self, query: MetricsQuery, now: float) -> list[Signal]:
        """One signal per series that breaks the rule at ``now``."""
        signals: list[Signal] = []
        for found in self.query.read(query, now):
            if not found.points:
                continue
            value = float(found.points[-1][1])
            if not _breaks(value, self.op, self.threshold):
                continue
            labels = self._labels_for(found.labels)
            series, view = self.query.chart(found)
            start = now - (self.query.window or 0.0)
            variables = {
                "value": number(value),
                "threshold": number(self.threshold),
                "series": series,
                "window_start": rfc3339_of(start),
                "window_end": rfc3339_of(now),
            }
            signals.append(
                Signal(
                    rule=self.rule_id,
                    kind="metric",
                    labels=labels,
                    annotations=self._annotate(labels, variables),
                    series=series,
                    window_start=start,
                    window_end=now,
                    value=value,
                    threshold=self.threshold,
                    for_s=self.for_,
                    view=view,
                )
            )
        return signals


class AnomalyRule(_RuleBase):
    """Turns each matching anomaly event into an alert that fires at once and resolves when they stop."""

    type: Literal["anomaly"]
    series: str = Field(default=".*", description="Regular expression the series name must match in full.")
    matchers: list[str] = Field(default_factory=list, description="Label matchers on the anomaly's labels.")
    detector: str | None = Field(default=None, description="Only anomalies from this detector.")
    min_score: float | None = Field(default=None, ge=0, le=1, description="Only anomalies scoring at least this.")
    context: Duration = Field(default=900.0, description="How much history before the point the link shows.")
    resolve_after: Duration = Field(default=300.0, description="Resolve when no anomaly came for this long.")

    @field_validator("series")
    @classmethod
    def _regex(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise FieldProblem(f"invalid regular expression: {exc}", fix="fix the pattern") from None
        return pattern

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, texts: list[str]) -> list[str]:
        return _valid_matchers(texts)

    def signal(self, anomaly: Anomaly) -> Signal | None:
        """The alert signal ``anomaly`` raises under this rule, or None when it does not match."""
        if re.fullmatch(self.series, anomaly.series) is None:
            return None
        if self.detector is not None and anomaly.detector != self.detector:
            return None
        if self.min_score is not None and anomaly.score < self.min_score:
            return None
        if not all_match(_matchers(self.matchers), anomaly.labels):
            return None
        labels = self._labels_for(anomaly.labels)
        # A live read names the stored series it scored and how it was computed; else the name is all.
        series = anomaly.source or selector_text(anomaly.series, anomaly.labels)
        start = anomaly.timestamp - self.context
        variables = {
            "value": number(anomaly.value),
            "threshold": number(anomaly.threshold),
            "score": number(anomaly.score),
            "series": series,
            "window_start": rfc3339_of(start),
            "window_end": rfc3339_of(anomaly.timestamp),
        }
        return Signal(
            rule=self.rule_id,
            kind="anomaly",
            labels=labels,
            annotations=self._annotate(labels, variables),
            series=series,
            window_start=start,
            window_end=anomaly.timestamp,
            value=anomaly.value,
            threshold=anomaly.threshold,
            score=anomaly.score,
            resolve_after_s=self.resolve_after,
            view=dict(anomaly.view),
        )


class ProactiveRule(_RuleBase):
    """Fires now when a forecast of a series crosses a capacity or SLO limit within its horizon."""

    type: Literal["proactive"]
    series: str = Field(description="Regular expression the forecast series' name must match in full.")
    matchers: list[str] = Field(default_factory=list, description="Label matchers on the series' labels.")
    bound: Literal["upper", "mean"] = Field(
        default="upper", description="Which forecast line must cross: the interval's upper edge or the mean."
    )
    op: Literal[">", ">=", "<", "<="] = Field(default=">", description="How the forecast is compared.")
    threshold: float = Field(description="The capacity or SLO limit.")
    within: Duration | None = Field(default=None, description="Only breaches expected sooner than this (all: empty).")

    @field_validator("series")
    @classmethod
    def _regex(cls, pattern: str) -> str:
        return AnomalyRule._regex(pattern)

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, texts: list[str]) -> list[str]:
        return _valid_matchers(texts)

    def signal(self, name: str, labels: Mapping[str, str], forecast: Forecast, now: float) -> Signal | None:
        """The alert signal if the forecast of series ``name{labels}`` breaks the limit, else None."""
        if re.fullmatch(self.series, name) is None or not all_match(_matchers(self.matchers), labels):
            return None
        line = forecast.upper if self.bound == "upper" else forecast.mean
        for at, value in zip(forecast.timestamps, line, strict=True):
            if not _breaks(float(value), self.op, self.threshold):
                continue
            if self.within is not None and at - now > self.within:
                return None
            alert_labels = self._labels_for(labels)
            series = selector_text(name, labels)
            variables = {
                "value": number(float(value)),
                "threshold": number(self.threshold),
                "series": series,
                "breach_expected_at": rfc3339_of(at),
                "window_start": rfc3339_of(now),
                "window_end": rfc3339_of(at),
            }
            return Signal(
                rule=self.rule_id,
                kind="proactive",
                labels=alert_labels,
                annotations=self._annotate(alert_labels, variables),
                series=series,
                window_start=now,
                window_end=float(at),
                value=float(value),
                threshold=self.threshold,
                breach_expected_at=float(at),
            )
        return None


Rule = Annotated[MetricRule | AnomalyRule | ProactiveRule, Field(discriminator="type")]
"""Any alert rule."""


class RuleFile(StrictModel):
    """One rule file: a list of rules."""

    rules: list[Rule] = Field(description="The rules.")


def rfc3339_of(seconds: float) -> str:
    """Unix seconds as RFC 3339 UTC text."""
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def _valid_matchers(texts: list[str]) -> list[str]:
    try:
        _matchers(texts)
    except AlertConfigError as exc:
        raise FieldProblem(exc.message, fix=exc.fix) from None
    return texts


_MATCHER_CACHE: dict[tuple[str, ...], tuple[Matcher, ...]] = {}


def _matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    key = tuple(texts)
    found = _MATCHER_CACHE.get(key)
    if found is None:
        found = _MATCHER_CACHE[key] = tuple(parse_matcher(t) for t in texts)
    return found


def _with_default_type(data: Any) -> Any:
    # `type: metric` is the default, but a discriminated union needs the key present.
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = {**data, "rules": [{"type": "metric", **r} if isinstance(r, dict) else r for r in data["rules"]]}
    return data


_BY_TYPE: dict[str, type[BaseModel]] = {"metric": MetricRule, "anomaly": AnomalyRule, "proactive": ProactiveRule}


def _allowed_keys(data: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` (a path into a rule file, ending in a mapping) accepts."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return []
    rule = data["rules"][loc[1]] if isinstance(data, dict) and isinstance(data.get("rules"), list) else None
    model: type[BaseModel] | None = _BY_TYPE.get(rule.get("type", "metric")) if isinstance(rule, dict) else None
    for part in loc[2:]:
        info = model.model_fields.get(str(part)) if model is not None else None
        annotation = info.annotation if info is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if model is None:
        return []
    return sorted(info.alias or name for name, info in model.model_fields.items())


def parse_rules(text: str, *, source: str = "rules.yaml") -> list[MetricRule | AnomalyRule | ProactiveRule]:
    """Validate one rule file; raise :class:`AlertConfigError` naming the file, line, field and a fix."""
    try:
        data, lines = read_yaml(text, source=source)
    except ConfigError as exc:
        raise AlertConfigError(exc.message, field="(yaml)", fix=exc.fix) from None
    return _validate(data, lines, source)


def _validate(
    data: Any, lines: dict[tuple[str | int, ...], int], source: str
) -> list[MetricRule | AnomalyRule | ProactiveRule]:
    if not isinstance(data, dict) or "rules" not in data:
        raise AlertConfigError(
            f"{source}:1: a rule file is a mapping with a 'rules:' list",
            field="rules",
            fix="start the file with 'rules:' and list the rules under it",
        )
    try:
        rules = RuleFile.model_validate(_with_default_type(data)).rules
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: tuple[str | int, ...] = tuple(err["loc"])
        # The union's tag ('metric', 'anomaly' ...) is in the location but not in the YAML.
        loc = tuple(p for p in loc if p not in ("metric", "anomaly", "proactive"))
        problem = (err.get("ctx") or {}).get("error")
        message, fix = str(err["msg"]), None
        if isinstance(problem, FieldProblem):
            loc, message, fix = (*loc, *problem.path), problem.problem, problem.fix
        elif err["type"] == "union_tag_invalid":
            fix = "type is one of metric, anomaly, proactive"
        elif err["type"] == "extra_forbidden":
            allowed = _allowed_keys(data, loc[:-1])
            fix = f"allowed keys here: {', '.join(allowed)}" if allowed else None
        line = line_for(loc, lines)
        field = ".".join(str(part) for part in loc) or "(top level)"
        raise AlertConfigError(
            f"{source}:{line or '?'}: invalid alert rule field '{field}': {message}",
            field=field,
            fix=fix or "see docs/watch-alerts.md for the rule file format",
        ) from None
    _refuse_duplicates(rules, source)
    return rules


def _refuse_duplicates(rules: Sequence[MetricRule | AnomalyRule | ProactiveRule], source: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.rule_id in seen:
            raise AlertConfigError(
                f"{source}: two rules are called '{rule.rule_id}'",
                field="name",
                fix="give one of them a distinct 'name:' (e.g. PaymentsLatencyHigh-critical)",
            )
        seen.add(rule.rule_id)


def load_rules(
    directory: Path | None = None, inline: Sequence[Mapping[str, Any]] = ()
) -> list[MetricRule | AnomalyRule | ProactiveRule]:
    """Every rule in ``directory``'s ``*.yaml``/``*.yml`` (name order) and ``inline``; all or nothing."""
    found: list[MetricRule | AnomalyRule | ProactiveRule] = []
    if directory is not None:
        if not directory.is_dir():
            raise AlertConfigError(
                f"alert rules directory {directory} does not exist",
                field="watch.alerts.rules_dir",
                fix="create it, or point watch.alerts.rules_dir at the directory holding the rule files",
            )
        for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise AlertConfigError(f"cannot read rule file {path}: {exc}", field="rules_dir") from None
            found.extend(parse_rules(text, source=str(path)))
    if inline:
        found.extend(_validate({"rules": list(inline)}, {}, "finpilot.yaml watch.alerts"))
    _refuse_duplicates(found, "the alert rules")
    return found
