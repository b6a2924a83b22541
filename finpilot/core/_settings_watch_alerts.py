"""The ``watch.alerts:`` section of ``finpilot.yaml``: alert rules, routing, silences and sinks.

Rules themselves are validated by :mod:`finpilot.watch` (they hold PromQL-like queries and
templates that only the watch capability understands); this section says where they are, how
alerts are grouped and throttled (Alertmanager's ``group_wait`` / ``group_interval`` /
``repeat_interval``), which alerts inhibit which, and where notifications go. Sink URLs are
secrets (a Slack incoming-webhook URL *is* its credential, a webhook URL may carry a token), so
they are given by reference, ``{env: NAME}`` or ``{file: PATH}``, like every other secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel
from finpilot.core._secret import SecretRef

MATCHER_PATTERN = r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$"
"""A label matcher as a person writes it: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``."""

_MATCHER = re.compile(MATCHER_PATTERN)


def _check_matchers(values: list[str]) -> list[str]:
    for value in values:
        found = _MATCHER.match(value)
        if found is None:
            raise FieldProblem(
                f"'{value}' is not a label matcher",
                fix="write name=value, name!=value, name=~regex or name!~regex",
            )
        if found.group(2) in ("=~", "!~"):
            try:
                re.compile(found.group(3).strip("\"'"))
            except re.error as exc:
                raise FieldProblem(f"invalid regular expression in '{value}': {exc}", fix="fix the pattern") from None
    return values


class AlertSinkSettings(StrictModel):
    """One place notifications go: a plain webhook, a real Alertmanager or a Slack incoming webhook."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="The sink's name, used by routes.")
    type: Literal["webhook", "alertmanager", "slack"] = Field(description="What the sink speaks.")
    url: SecretRef = Field(
        description=(
            "The URL by reference, {env: NAME} or {file: PATH}: webhook and Slack URLs carry tokens. For "
            "alertmanager, its base URL (e.g. http://alertmanager:9093); alerts go to /api/v2/alerts."
        )
    )
    secret: SecretRef | None = Field(
        default=None,
        description="webhook only: HMAC-SHA256 secret; each POST then carries X-Finpilot-Signature.",
    )
    timeout_s: float = Field(default=5, gt=0, le=60, description="Timeout of one request, in seconds.")
    attempts: int = Field(default=3, ge=1, le=10, description="Immediate attempts (with back-off) per delivery.")
    retry_max_s: float = Field(
        default=600,
        gt=0,
        le=86400,
        description="Longest wait between later retries of a failed delivery; it is kept until it succeeds.",
    )

    @model_validator(mode="after")
    def _secret_only_for_webhook(self) -> AlertSinkSettings:
        if self.secret is not None and self.type != "webhook":
            raise FieldProblem(
                f"a {self.type} sink is not signed", path=("secret",), fix="remove secret, or use type: webhook"
            )
        return self


class AlertRouteSettings(StrictModel):
    """Which alerts go to which sinks, grouped by which labels and how often."""

    matchers: list[str] = Field(
        default_factory=list,
        description="Label matchers an alert must all satisfy (name=value, name!=value, name=~re, name!~re).",
    )
    sinks: list[str] = Field(min_length=1, description="Names of the sinks this route notifies.")
    group_by: list[str] | None = Field(
        default=None, description="Labels that make a group ('...' alone: every label). Empty: the root's."
    )
    group_wait_s: float | None = Field(default=None, ge=0, le=86400, description="Empty: the root's.")
    group_interval_s: float | None = Field(default=None, gt=0, le=86400, description="Empty: the root's.")
    repeat_interval_s: float | None = Field(default=None, gt=0, le=30 * 86400, description="Empty: the root's.")
    continue_: bool = Field(
        default=False, alias="continue", description="Go on matching the next routes after this one matched."
    )

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)


class InhibitRuleSettings(StrictModel):
    """While an alert matching ``source`` fires, alerts matching ``target`` with the same ``equal`` labels are muted."""

    source: list[str] = Field(min_length=1, description="Matchers of the inhibiting alert.")
    target: list[str] = Field(min_length=1, description="Matchers of the alerts it mutes.")
    equal: list[str] = Field(default_factory=list, description="Labels whose values must be the same in both.")

    @field_validator("source", "target")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)


class WatchAlertSettings(StrictModel):
    """Alert rules, grouping, inhibition and where alerts are sent."""

    rules_dir: Path | None = Field(
        default=None, description="Directory of rule files (*.yaml, each with a 'rules:' list), read in name order."
    )
    rules: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Rules written inline, shaped as in a rule file (validated by `finpilot watch alerts`).",
    )
    evaluation_interval_s: float = Field(default=15, gt=0, le=3600, description="How often metric rules run.")
    group_by: list[str] = Field(
        default_factory=lambda: ["alertname"], description="The root route's grouping labels ('...': every label)."
    )
    group_wait_s: float = Field(
        default=30, ge=0, le=86400, description="How long a new group waits for more alerts before it notifies."
    )
    group_interval_s: float = Field(
        default=300, gt=0, le=86400, description="How long after a notification a changed group notifies again."
    )
    repeat_interval_s: float = Field(
        default=4 * 3600, gt=0, le=30 * 86400, description="How long before an unchanged firing group notifies again."
    )
    resolved_retention_s: float = Field(
        default=900, gt=0, le=30 * 86400, description="How long resolved alerts stay listed before they are dropped."
    )
    sinks: list[AlertSinkSettings] = Field(default_factory=list, description="Where notifications can go.")
    routes: list[AlertRouteSettings] = Field(
        default_factory=list,
        description="Routes tried in order (first match wins unless 'continue'). No match: every sink.",
    )
    inhibit: list[InhibitRuleSettings] = Field(default_factory=list, description="Inhibition rules.")
    console_base_url: str = Field(
        default="http://127.0.0.1:8080",
        pattern=r"^https?://[^\s]+$",
        description="Base URL of the console, for the link each alert carries (its series and window).",
    )

    @model_validator(mode="after")
    def _sinks_exist(self) -> WatchAlertSettings:
        names = [sink.name for sink in self.sinks]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise FieldProblem(f"two sinks are called '{name}'", path=("sinks", index, "name"), fix="rename one")
        for index, route in enumerate(self.routes):
            for sink in route.sinks:
                if sink not in names:
                    raise FieldProblem(
                        f"route names sink '{sink}', which is not declared",
                        path=("routes", index, "sinks"),
                        fix=f"declare it under watch.alerts.sinks, or use one of: {', '.join(names) or '(none yet)'}",
                    )
        return self
