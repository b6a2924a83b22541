"""The audit entries alerting writes: ``watch.alert`` (fire, resolve, notify, silence) and ``watch.anomaly``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from finpilot.audit import Entry
from finpilot.audit.kinds import WATCH_ALERT, WATCH_ANOMALY
from finpilot.core import rfc3339
from finpilot.watch._alerts._model import Alert, selector_text
from finpilot.watch._alerts._silences import Silence
from finpilot.watch._detect._contract import Anomaly

ACTOR = "watch:alerts"
"""The actor of entries the alert manager writes on its own."""


def _time(seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def _subject(labels: Mapping[str, str], fingerprint: str) -> str:
    # A replica subject lets a runbook's `restart: "{slot}"` act on exactly that replica.
    if labels.get("replica"):
        return f"replica:{labels['replica']}"
    if labels.get("instance"):
        return f"instance:{labels['instance']}"
    return f"alert:{fingerprint}"


def alert_entry(
    alert: Alert,
    *,
    action: str,
    outcome: str,
    actor: str = ACTOR,
    at: float | None = None,
    group: str | None = None,
    sinks: Sequence[Mapping[str, Any]] = (),
) -> Entry:
    """A ``watch.alert`` entry about ``alert`` (fire, resolve or notify)."""
    labels = dict(alert.labels)
    evidence: dict[str, Any] = {
        "rule": alert.rule,
        "rule_kind": alert.kind,
        "fingerprint": alert.fingerprint,
        "alertname": alert.name,
        "severity": alert.severity,
        "labels": labels,
        "service": labels.get("service"),
        "replica": labels.get("replica"),
        "instance": labels.get("instance"),
        "series": alert.series,
        "window": {"start": alert.window_start, "end": alert.window_end},
        "value": alert.value,
        "threshold": alert.threshold,
        "score": alert.score,
        "breach_expected_at": None if alert.breach_expected_at is None else _time(alert.breach_expected_at),
        "link": alert.link or None,
    }
    if group is not None:
        evidence["group"] = group
    if sinks:
        evidence["sinks"] = [dict(s) for s in sinks]
    return WATCH_ALERT.entry(
        actor=actor,
        action=action,
        subject=_subject(labels, alert.fingerprint),
        outcome=outcome,
        evidence=evidence,
        time=None if at is None else datetime.fromtimestamp(at, UTC),
    )


def silence_entry(silence: Silence, *, action: str, actor: str, at: float) -> Entry:
    """A ``watch.alert`` entry for a silence set (``silence``) or ended (``expire``)."""
    return WATCH_ALERT.entry(
        actor=actor,
        action=action,
        subject=f"silence:{silence.id}",
        outcome="active" if action == "silence" else "expired",
        evidence={
            "silence": {
                "id": silence.id,
                "matchers": [str(m) for m in silence.matchers],
                "starts_at": _time(silence.starts_at),
                "ends_at": _time(silence.ends_at),
                "created_by": silence.created_by,
                "comment": silence.comment,
            }
        },
        time=datetime.fromtimestamp(at, UTC),
    )


def anomaly_entry(anomaly: Anomaly, *, actor: str = "watch:detect") -> Entry:
    """The ``watch.anomaly`` entry of one anomaly event."""
    labels = dict(anomaly.labels)
    series = selector_text(anomaly.series, labels)
    return WATCH_ANOMALY.entry(
        actor=actor,
        action="detect",
        subject=f"replica:{labels['replica']}" if labels.get("replica") else f"series:{series}",
        outcome="anomaly",
        evidence={
            "detector": anomaly.detector,
            "series": series,
            "labels": labels,
            "timestamp": anomaly.timestamp,
            "value": anomaly.value,
            "score": anomaly.score,
            "threshold": anomaly.threshold,
            "service": labels.get("service"),
            "replica": labels.get("replica"),
        },
        time=datetime.fromtimestamp(anomaly.timestamp, UTC),
    )
