"""The alert manager: rule signals in, notifications out, every step kept in SQLite.

Alerts move ``pending -> firing -> resolved``. A metric rule's alert is pending until its
condition has held for the rule's ``for``; it is dropped if the condition clears first, and
resolved when a later evaluation no longer sees it. Anomaly alerts fire at once and resolve when
no anomaly came for ``resolve_after``; proactive alerts fire at once and resolve when the
forecast no longer crosses the limit. The fingerprint (a hash of the labels) is the alert's
identity, so a signal seen again refreshes the same alert (deduplication).

Notification follows Alertmanager: each alert joins a group per matching route; a new group
waits ``group_wait`` for company, then notifies; after that it notifies at most every
``group_interval``, and only when an alert joined or resolved, or, with nothing new,
again after ``repeat_interval``. Silenced and inhibited alerts never notify. Each notification
is put in the outbox per sink before it is sent; a failed delivery stays there and is retried
with back-off until it goes through, so nothing is lost, and the group's record of what it last
notified is written at the same time, so a restart does not notify twice.

Time comes from an injected clock (:data:`finpilot.core.Clock`): tests step it exactly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from finpilot.audit import Entry
from finpilot.core import Backoff, Clock, NotFoundError, Settings, utc_now
from finpilot.watch._alerts._delivery import Delivery
from finpilot.watch._alerts._entries import alert_entry, anomaly_entry, silence_entry
from finpilot.watch._alerts._inhibit import InhibitRule, inhibited
from finpilot.watch._alerts._matchers import Matcher, parse_matcher
from finpilot.watch._alerts._model import Alert, Signal
from finpilot.watch._alerts._routing import Route, matching_routes, routes_from_settings
from finpilot.watch._alerts._rules import AnomalyRule, MetricRule, ProactiveRule
from finpilot.watch._alerts._silences import Silence
from finpilot.watch._alerts._sinks._build import build_sinks
from finpilot.watch._alerts._sinks._interface import Notification, Sink
from finpilot.watch._alerts._store import AlertStore, GroupState
from finpilot.watch._detect._contract import Anomaly
from finpilot.watch._errors import AlertConfigError, WatchError
from finpilot.watch._forecast._types import Forecast
from finpilot.watch._metrics._types import MetricsQuery

AnyRule = MetricRule | AnomalyRule | ProactiveRule
"""Any alert rule."""

DEFAULT_ROUTE = Route(
    matchers=(),
    sinks=(),
    group_by=("alertname",),
    group_wait_s=30.0,
    group_interval_s=300.0,
    repeat_interval_s=4 * 3600.0,
)
"""The route used when none is given (its sinks: every sink the manager has)."""


@dataclass(frozen=True)
class AlertView:
    """An alert as the console and ``watch alerts`` show it: with what mutes it."""

    alert: Alert
    silenced_by: tuple[str, ...]
    inhibited: bool

    def to_json(self) -> dict[str, object]:
        """The alert's JSON plus ``silenced_by`` and ``inhibited``."""
        return {**self.alert.to_json(), "silenced_by": list(self.silenced_by), "inhibited": self.inhibited}


@dataclass(frozen=True)
class TickReport:
    """What one :meth:`AlertManager.tick` did."""

    resolved: int
    notifications: int
    delivered: int
    failed: int


class AlertManager:
    """Turns rule signals into alerts, groups and mutes them, and delivers notifications to sinks."""

    def __init__(
        self,
        store: AlertStore,
        *,
        sinks: Mapping[str, Sink],
        routes: Sequence[Route] | None = None,
        inhibit: Sequence[InhibitRule] = (),
        clock: Clock = utc_now,
        record: Callable[[Entry], object] | None = None,
        console_base_url: str = "http://127.0.0.1:8080",
        resolved_retention_s: float = 900.0,
        retry: Backoff | None = None,
        immediate: Backoff | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.store = store
        self.sinks = dict(sinks)
        self.routes = list(routes) if routes is not None else [replace(DEFAULT_ROUTE, sinks=tuple(self.sinks))]
        self.inhibit = list(inhibit)
        self._clock = clock
        self._record = record
        self._base = console_base_url.rstrip("/")
        self._retention = resolved_retention_s
        self.delivery = Delivery(
            store,
            self.sinks,
            record=self._emit,
            retry=retry or Backoff(first_s=10.0, multiplier=2.0, max_s=600.0),
            immediate=immediate or Backoff(first_s=0.2, multiplier=2.0, max_s=2.0),
            sleep=sleep,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        record: Callable[[Entry], object] | None = None,
        environ: Mapping[str, str] | None = None,
        with_sinks: bool = True,
        sleep: Callable[[float], object] = time.sleep,
    ) -> AlertManager:
        """The manager ``finpilot.yaml`` describes, with its store under the data directory.

        ``with_sinks=False`` reads and changes state without resolving any sink's secrets (listing
        alerts, setting silences), so those work where the sink URLs' variables are not set.
        """
        alerts = settings.watch.alerts
        retry_max = max((s.retry_max_s for s in alerts.sinks), default=600.0)
        return cls(
            AlertStore.in_data_dir(settings.data_dir),
            sinks=build_sinks(alerts, environ) if with_sinks else {},
            routes=routes_from_settings(alerts),
            inhibit=[InhibitRule.parse(r.source, r.target, r.equal) for r in alerts.inhibit],
            clock=clock,
            record=record,
            console_base_url=alerts.console_base_url,
            resolved_retention_s=alerts.resolved_retention_s,
            retry=Backoff(first_s=min(10.0, retry_max), multiplier=2.0, max_s=retry_max),
            sleep=sleep,
        )

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def now(self) -> float:
        """The injected clock's time, Unix seconds."""
        return self._clock().timestamp()

    def _emit(self, entry: Entry) -> None:
        if self._record is not None:
            self._record(entry)

    def link(self, series: str, start: float, end: float, view: Mapping[str, str] | None = None) -> str:
        """The console page of ``series`` over ``[start, end]``, computed as ``view`` says (rate, quantile...)."""
        query = urlencode({"series": series, **(view or {}), "start": f"{start:.0f}", "end": f"{end:.0f}"})
        return f"{self._base}/watch/metrics?{query}"

    # ------------------------------------------------------------------ signals in

    def evaluate(self, rules: Iterable[AnyRule], query: MetricsQuery) -> dict[str, str]:
        """Run every metric rule against ``query`` now; returns ``{rule: error}`` for rules that failed.

        A rule whose read fails keeps its alerts as they are (a metrics outage resolves nothing).
        """
        failures: dict[str, str] = {}
        now = self.now()
        for rule in rules:
            if not isinstance(rule, MetricRule):
                continue
            try:
                signals = rule.evaluate(query, now)
            except WatchError as exc:
                failures[rule.rule_id] = str(exc)
                continue
            self.observe(rule.rule_id, signals)
        return failures

    def on_anomaly(self, anomaly: Anomaly, rules: Iterable[AnyRule], *, record: bool = False) -> list[Alert]:
        """Raise (or refresh) the alerts the anomaly rules make of ``anomaly``.

        With ``record``, the anomaly's own ``watch.anomaly`` entry is written first (for a caller
        that does not write it where it runs the detector).
        """
        now = self.now()
        if record:
            self._emit(anomaly_entry(anomaly))
        with self.store.transaction():
            return [
                self._upsert(signal, now)
                for rule in rules
                if isinstance(rule, AnomalyRule) and (signal := rule.signal(anomaly)) is not None
            ]

    def on_forecast(
        self, name: str, labels: Mapping[str, str], forecast: Forecast, rules: Iterable[AnyRule]
    ) -> list[Alert]:
        """Check the proactive rules against a new forecast of series ``name{labels}``; returns alerts now firing."""
        now = self.now()
        scope = {k: v for k, v in labels.items() if k != "__name__"}
        fired: list[Alert] = []
        for rule in rules:
            if isinstance(rule, ProactiveRule):
                signal = rule.signal(name, labels, forecast, now)
                fired.extend(self.observe(rule.rule_id, [signal] if signal is not None else [], scope=scope))
        return fired

    def observe(self, rule: str, signals: Sequence[Signal], *, scope: Mapping[str, str] | None = None) -> list[Alert]:
        """One evaluation of ``rule``: these signals hold now; its other alerts (within ``scope``) no longer do."""
        now = self.now()
        with self.store.transaction():
            known = {a.fingerprint: a for a in self.store.alerts()}
            alerts = [self._upsert(signal, now, known) for signal in signals]
            seen = {a.fingerprint for a in alerts}
            for alert in known.values():
                if alert.rule != rule or alert.state == "resolved" or alert.fingerprint in seen:
                    continue
                if scope is not None and any(alert.labels.get(k) != v for k, v in scope.items()):
                    continue
                if alert.state == "pending":
                    self.store.drop_alert(alert.fingerprint)  # never fired: nobody was told, nothing to resolve
                else:
                    self._resolve(alert, now)
        return alerts

    def _upsert(self, signal: Signal, now: float, known: dict[str, Alert] | None = None) -> Alert:
        fp = signal.fingerprint
        old = known.get(fp) if known is not None else self.store.alert(fp)
        if old is None or old.state == "resolved":
            firing = signal.for_s <= 0
            alert = Alert(
                fingerprint=fp,
                rule=signal.rule,
                kind=signal.kind,
                labels=dict(signal.labels),
                annotations=dict(signal.annotations),
                state="firing" if firing else "pending",
                series=signal.series,
                window_start=signal.window_start,
                window_end=signal.window_end,
                active_since=now,
                last_seen=now,
                fired_at=now if firing else None,
                value=signal.value,
                threshold=signal.threshold,
                for_s=signal.for_s,
                breach_expected_at=signal.breach_expected_at,
                resolve_after_s=signal.resolve_after_s,
                score=signal.score,
                link=self.link(signal.series, signal.window_start, signal.window_end, signal.view),
            )
        else:
            start, end = min(old.window_start, signal.window_start), max(old.window_end, signal.window_end)
            promote = old.state == "pending" and now - old.active_since >= signal.for_s
            alert = replace(
                old,
                annotations=dict(signal.annotations),
                state="firing" if promote else old.state,
                fired_at=now if promote else old.fired_at,
                window_start=start,
                window_end=end,
                last_seen=now,
                value=signal.value,
                threshold=signal.threshold,
                breach_expected_at=signal.breach_expected_at,
                score=signal.score,
                link=self.link(signal.series, start, end, signal.view),
            )
        self.store.put_alert(alert)
        if alert.state == "firing" and (old is None or old.state != "firing"):
            self._emit(alert_entry(alert, action="fire", outcome="firing", at=now))
        return alert

    def _resolve(self, alert: Alert, now: float) -> Alert:
        done = replace(alert, state="resolved", resolved_at=now)
        self.store.put_alert(done)
        self._emit(alert_entry(done, action="resolve", outcome="resolved", at=now))
        return done

    # ------------------------------------------------------------------ time passes

    def tick(self) -> TickReport:
        """Resolve quiet event alerts, notify the groups that are due, and deliver what the outbox holds."""
        now = self.now()
        resolved = 0
        with self.store.transaction():
            for alert in self.store.alerts():
                quiet = alert.resolve_after_s is not None and now - alert.last_seen >= alert.resolve_after_s
                if alert.state == "firing" and quiet:
                    self._resolve(alert, now)
                    resolved += 1
            notifications = self._flush(now)
        # Deliveries run outside the transaction: a slow sink must not hold the store's lock.
        delivered, failed = self.deliver(now)
        with self.store.transaction():
            self._forget_old(now)
        return TickReport(resolved, notifications, delivered, failed)

    def _muted(self, alert: Alert, silences: Sequence[Silence], firing: Sequence[Alert], now: float) -> bool:
        return any(s.mutes(alert.labels, now) for s in silences) or inhibited(alert, firing, self.inhibit)

    def _flush(self, now: float) -> int:
        alerts = self.store.alerts()
        silences = self.store.silences()
        firing_all = [a for a in alerts if a.state == "firing"]
        members: dict[str, tuple[Route, dict[str, str], list[Alert]]] = {}
        for alert in alerts:
            if alert.state == "pending":
                continue
            for index, route in matching_routes(self.routes, alert.labels):
                key, group_labels = route.group(index, alert.labels)
                members.setdefault(key, (route, group_labels, []))[2].append(alert)
        states = self.store.groups()
        sent = 0
        for key in sorted(set(members) | set(states)):
            if key not in members:
                self.store.drop_group(key)  # every alert it had is gone
                continue
            route, group_labels, group = members[key]
            firing = {
                a.fingerprint: a for a in group if a.state == "firing" and not self._muted(a, silences, firing_all, now)
            }
            state = states.get(key)
            if state is None:
                if not firing:
                    continue
                state = GroupState(first_seen=now, next_flush_at=now + route.group_wait_s)
                self.store.put_group(key, state)
            if now < state.next_flush_at:
                continue
            notified = set(state.notified)
            resolved = [a for a in group if a.state == "resolved" and a.fingerprint in notified]
            new = set(firing) - notified
            repeat_due = state.last_sent_at is None or now - state.last_sent_at >= route.repeat_interval_s
            with self.store.transaction():
                if new or resolved or (firing and repeat_due):
                    self._notify(key, route, group_labels, [*firing.values(), *resolved], now)
                    state.last_sent_at = now
                    sent += 1
                state.notified = sorted(firing)
                state.next_flush_at = now + route.group_interval_s
                if firing:
                    self.store.put_group(key, state)
                else:
                    self.store.drop_group(key)
        return sent

    def _notify(self, key: str, route: Route, group_labels: Mapping[str, str], alerts: list[Alert], now: float) -> None:
        for sink in route.sinks:
            notification = Notification(
                receiver=sink,
                group_key=key,
                group_labels=group_labels,
                alerts=tuple(alerts),
                external_url=self._base,
                sent_at=now,
                hold_s=route.repeat_interval_s + route.group_interval_s,
            )
            self.store.enqueue(sink, key, notification.to_json(), now)

    def deliver(self, now: float | None = None) -> tuple[int, int]:
        """Try every due delivery in the outbox; returns (delivered, failed and kept for later)."""
        return self.delivery.deliver(self.now() if now is None else now)

    def _forget_old(self, now: float) -> None:
        notified = {fp for state in self.store.groups().values() for fp in state.notified}
        for alert in self.store.alerts():
            old = (
                alert.state == "resolved"
                and alert.resolved_at is not None
                and now - alert.resolved_at >= self._retention
            )
            if old and alert.fingerprint not in notified:
                self.store.drop_alert(alert.fingerprint)

    # ------------------------------------------------------------------ silences

    def add_silence(
        self,
        matchers: Sequence[str | Matcher],
        *,
        created_by: str,
        comment: str,
        duration_s: float | None = None,
        ends_at: float | None = None,
        starts_at: float | None = None,
    ) -> Silence:
        """Mute matching alerts from ``starts_at`` (default: now) for ``duration_s`` or until ``ends_at``."""
        now = self.now()
        parsed = tuple(m if isinstance(m, Matcher) else parse_matcher(m, field="--match") for m in matchers)
        if not parsed:
            raise AlertConfigError(
                "a silence needs at least one matcher", field="matchers", fix="add --match NAME=VALUE"
            )
        if not comment.strip():
            raise AlertConfigError("a silence needs a comment (why)", field="comment", fix="add --comment TEXT")
        start = now if starts_at is None else starts_at
        if (duration_s is None) == (ends_at is None):
            raise AlertConfigError(
                "a silence needs exactly one of a duration or an end", field="duration", fix="give --duration 2h"
            )
        end = start + duration_s if duration_s is not None else float(ends_at or 0.0)
        if end <= start or end <= now:
            raise AlertConfigError(
                "a silence must end after it starts and after now", field="duration", fix="give a positive duration"
            )
        silence = Silence(uuid.uuid4().hex, parsed, start, end, created_by, comment.strip())
        # Audited first: a silence the ledger refuses (a card number in its comment) is never set.
        self._emit(silence_entry(silence, action="silence", actor=created_by, at=now))
        self.store.put_silence(silence)
        return silence

    def expire_silence(self, silence_id: str, *, by: str) -> Silence:
        """End a silence now (an expired one is returned as it is)."""
        now = self.now()
        found = next((s for s in self.store.silences() if s.id == silence_id), None)
        if found is None:
            raise NotFoundError(
                f"no silence has id '{silence_id}'", field="id", fix="see `finpilot watch silence list`"
            )
        if found.state(now) == "expired":
            return found
        ended = replace(found, ends_at=now, starts_at=min(found.starts_at, now))
        self.store.put_silence(ended)
        self._emit(silence_entry(ended, action="expire", actor=by, at=now))
        return ended

    # ------------------------------------------------------------------ reads (console, CLI)

    def silences(self, *, include_expired: bool = True) -> list[Silence]:
        """Every silence (newest end first), or only those not yet expired."""
        now = self.now()
        return [s for s in self.store.silences() if include_expired or s.state(now) != "expired"]

    def active_alerts(self) -> list[AlertView]:
        """Pending and firing alerts (and resolved ones still kept), with what mutes them."""
        now = self.now()
        alerts = self.store.alerts()
        silences = self.store.silences()
        firing = [a for a in alerts if a.state == "firing"]
        views = [
            AlertView(
                alert,
                tuple(s.id for s in silences if s.mutes(alert.labels, now)),
                inhibited(alert, firing, self.inhibit),
            )
            for alert in alerts
        ]
        order = {"firing": 0, "pending": 1, "resolved": 2}
        return sorted(views, key=lambda v: (order[v.alert.state], -v.alert.active_since, v.alert.fingerprint))

    def notifications(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest delivery outcomes (the notification log), newest first."""
        return self.store.notifications(limit)

    def pending_deliveries(self) -> list[dict[str, Any]]:
        """Deliveries kept for a retry: sink, attempts, next attempt, last error."""
        return [
            {
                "id": item.id,
                "sink": item.sink,
                "group_key": item.group_key,
                "attempts": item.attempts,
                "next_attempt_at": item.next_attempt_at,
                "last_error": item.last_error,
            }
            for item in self.store.outbox()
        ]

    # ------------------------------------------------------------------ test alert

    def send_test(self, sink_name: str) -> dict[str, Any]:
        """Send a test alert to one sink now (not kept, not grouped); raises on failure."""
        sink = self.sinks.get(sink_name)
        if sink is None:
            raise AlertConfigError(
                f"no alert sink is called '{sink_name}'",
                field="--sink",
                fix=f"use one of: {', '.join(sorted(self.sinks)) or '(none configured: watch.alerts.sinks)'}",
            )
        now = self.now()
        labels = {"alertname": "FinpilotTestAlert", "severity": "info", "sink": sink_name}
        signal = Signal(
            rule="test",
            kind="metric",
            labels=labels,
            annotations={"summary": "a test alert from finpilot watch alert-test"},
            series="finpilot_test",
            window_start=now - 300,
            window_end=now,
        )
        alert = Alert(
            fingerprint=signal.fingerprint,
            rule="test",
            kind="metric",
            labels=labels,
            annotations=dict(signal.annotations),
            state="firing",
            series=signal.series,
            window_start=signal.window_start,
            window_end=now,
            active_since=now,
            last_seen=now,
            fired_at=now,
            link=self.link(signal.series, signal.window_start, now, signal.view),
        )
        return self.delivery.send_now(sink, alert, external_url=self._base, now=now)
