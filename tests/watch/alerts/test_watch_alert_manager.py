"""The alert manager: dedup, grouping timing, silences, inhibition, restarts and failed deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alert_helpers import RecordingSink, make_manager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.core import FakeClock, NotFoundError
from finpilot.watch import AlertConfigError, InhibitRule, Signal, fingerprint


def signal(alertname: str = "HighLatency", **labels: str) -> Signal:
    base = {"alertname": alertname, "severity": "warning", **labels}
    return Signal(
        rule=alertname,
        kind="metric",
        labels=base,
        annotations={"summary": "slow"},
        series='latency_seconds{replica="payments/1"}',
        window_start=0.0,
        window_end=0.0,
        value=0.9,
        threshold=0.5,
    )


def fingerprints(sink: RecordingSink, index: int = -1) -> list[str]:
    return sorted(a.fingerprint for a in sink.got[index].alerts)


def test_the_same_breach_twice_is_one_alert_and_one_notification(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, wait=0)
    for _ in range(3):
        manager.observe("HighLatency", [signal(replica="payments/1")])
        manager.tick()
        clock.advance(10)
    assert len(manager.active_alerts()) == 1
    assert len(sink.got) == 1
    assert [e.action for e in entries].count("fire") == 1


def test_grouping_waits_then_batches_then_repeats(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, wait=30, interval=300, repeat=3600)
    one, two, three = (signal(replica=f"payments/{i}") for i in (1, 2, 3))
    manager.observe("HighLatency", [one])
    manager.tick()
    clock.advance(20)
    manager.observe("HighLatency", [one, two])
    manager.tick()
    assert sink.got == []  # group_wait (30 s) not over
    clock.advance(10)
    manager.tick()
    assert fingerprints(sink) == sorted([one.fingerprint, two.fingerprint])  # one notification for both
    clock.advance(100)
    manager.observe("HighLatency", [one, two, three])
    manager.tick()
    assert len(sink.got) == 1  # group_interval (300 s) not over
    clock.advance(200)
    manager.tick()
    assert len(sink.got) == 2
    assert fingerprints(sink) == sorted(s.fingerprint for s in (one, two, three))
    clock.advance(300)
    manager.tick()
    assert len(sink.got) == 2  # nothing new, repeat_interval (1 h) not over
    clock.advance(3300)
    manager.tick()
    assert len(sink.got) == 3  # repeated after an hour
    clock.advance(300)
    manager.observe("HighLatency", [])
    manager.tick()
    assert len(sink.got) == 4
    assert sink.got[-1].status == "resolved"
    assert {a.state for a in sink.got[-1].alerts} == {"resolved"}


def test_groups_are_split_by_their_labels(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, group_by=("alertname", "service"), wait=0)
    manager.observe("HighLatency", [signal(service="payments"), signal(service="ledger")])
    manager.tick()
    assert len(sink.got) == 2
    assert sorted(n.group_labels["service"] for n in sink.got) == ["ledger", "payments"]


def test_a_silence_mutes_until_it_expires(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, wait=0, interval=60)
    silence = manager.add_silence(
        ["service=~pay.*", "severity!=critical"], created_by="cli:alice", comment="deploying", duration_s=3600
    )
    manager.observe("HighLatency", [signal(service="payments")])
    manager.tick()
    assert sink.got == []
    (view,) = manager.active_alerts()
    assert view.silenced_by == (silence.id,)
    assert view.to_json()["silenced_by"] == [silence.id]
    clock.advance(120)
    manager.expire_silence(silence.id, by="cli:alice")
    manager.tick()
    assert len(sink.got) == 1
    assert [e.action for e in entries if e.subject.startswith("silence:")] == ["silence", "expire"]
    assert entries[0].evidence["silence"]["matchers"] == ["service=~pay.*", "severity!=critical"]
    assert manager.silences(include_expired=False) == []


def test_a_silence_ends_by_itself(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, wait=0, interval=60)
    manager.add_silence(["alertname=HighLatency"], created_by="cli:bob", comment="known", duration_s=600)
    manager.observe("HighLatency", [signal()])
    manager.tick()
    clock.advance(599)
    manager.tick()
    assert sink.got == []
    clock.advance(61)
    manager.tick()
    assert len(sink.got) == 1


def test_silence_input_is_checked(tmp_path: Path, clock: FakeClock, entries: list[Any]) -> None:
    manager = make_manager(tmp_path, clock, RecordingSink(), entries)
    with pytest.raises(AlertConfigError, match="not a label matcher") as caught:
        manager.add_silence(["service"], created_by="cli:x", comment="c", duration_s=60)
    assert caught.value.field == "--match"
    with pytest.raises(AlertConfigError, match="comment"):
        manager.add_silence(["a=b"], created_by="cli:x", comment=" ", duration_s=60)
    with pytest.raises(AlertConfigError, match="end after"):
        manager.add_silence(["a=b"], created_by="cli:x", comment="c", duration_s=0)
    with pytest.raises(AlertConfigError, match="regular expression"):
        manager.add_silence(["a=~("], created_by="cli:x", comment="c", duration_s=60)
    with pytest.raises(NotFoundError):
        manager.expire_silence("nope", by="cli:x")


def test_a_critical_alert_inhibits_the_warning_on_the_same_service(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    sink = RecordingSink()
    rule = InhibitRule.parse(["severity=critical"], ["severity=warning"], ["service"])
    manager = make_manager(tmp_path, clock, sink, entries, group_by=("...",), wait=0, inhibit=[rule])
    down = Signal(
        "ServiceDown",
        "metric",
        {"alertname": "ServiceDown", "severity": "critical", "service": "payments"},
        {},
        "up",
        0,
        0,
    )
    slow_pay = signal(service="payments")
    slow_ledger = signal(service="ledger")
    manager.observe("ServiceDown", [down])
    manager.observe("HighLatency", [slow_pay, slow_ledger])
    manager.tick()
    notified = {a.fingerprint for n in sink.got for a in n.alerts}
    assert notified == {down.fingerprint, slow_ledger.fingerprint}
    views = {v.alert.fingerprint: v for v in manager.active_alerts()}
    assert views[slow_pay.fingerprint].inhibited
    assert not views[down.fingerprint].inhibited  # never inhibits itself
    # Once the source resolves, the inhibited alert notifies.
    clock.advance(400)
    manager.observe("ServiceDown", [])
    manager.tick()
    assert slow_pay.fingerprint in {a.fingerprint for n in sink.got for a in n.alerts}


def test_a_restart_loses_nothing_and_does_not_notify_again(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, clock, sink, entries, wait=0, interval=60, repeat=3600)
    manager.observe("HighLatency", [signal(replica="payments/1")])
    silence = manager.add_silence(["service=ledger"], created_by="cli:a", comment="c", duration_s=7200)
    manager.tick()
    assert len(sink.got) == 1
    manager.close()
    clock.advance(120)
    again = make_manager(tmp_path, clock, sink, entries, wait=0, interval=60, repeat=3600)
    assert [v.alert.state for v in again.active_alerts()] == ["firing"]
    assert [s.id for s in again.silences()] == [silence.id]
    again.observe("HighLatency", [signal(replica="payments/1")])
    again.tick()
    assert len(sink.got) == 1  # not re-notified after the restart
    assert again.notifications()[0]["outcome"] == "delivered"


def test_a_failed_delivery_is_kept_and_retried_until_it_goes_through(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    sink = RecordingSink(failing=True)
    manager = make_manager(tmp_path, clock, sink, entries, wait=0)
    manager.observe("HighLatency", [signal()])
    report = manager.tick()
    assert (report.notifications, report.delivered, report.failed) == (1, 0, 1)
    assert sink.tries == 2  # the sink's immediate attempts
    (pending,) = manager.pending_deliveries()
    assert pending["attempts"] == 1
    assert pending["last_error"] == "receiver down"
    manager.close()
    clock.advance(5)
    again = make_manager(tmp_path, clock, sink, entries, wait=0)
    assert again.tick().failed == 0  # not due yet (back-off: 10 s)
    clock.advance(5)
    assert again.tick().failed == 1
    sink.failing = False
    clock.advance(20)
    assert again.tick().delivered == 1
    assert again.pending_deliveries() == []
    assert len(sink.got) == 1
    outcomes = [n["outcome"] for n in again.notifications()]
    assert outcomes == ["delivered", "retrying", "retrying"]
    notify = [e for e in entries if e.action == "notify"]
    assert [e.outcome for e in notify] == ["retrying", "retrying", "delivered"]
    assert notify[0].evidence["sinks"][0]["status_code"] == 503


labels_strategy = st.dictionaries(
    st.sampled_from(["service", "replica", "severity", "team"]), st.sampled_from(["a", "b", "payments"]), max_size=4
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(labels_strategy, max_size=4), min_size=1, max_size=4))
def test_dedup_is_idempotent(tmp_path_factory: pytest.TempPathFactory, batches: list[list[dict[str, str]]]) -> None:
    clock = FakeClock()
    manager = make_manager(tmp_path_factory.mktemp("dedup"), clock, RecordingSink(), [], wait=0)
    for batch in batches:
        signals = [signal(**labels) for labels in batch]
        manager.observe("HighLatency", signals)
        once = sorted((v.alert.fingerprint, v.alert.state) for v in manager.active_alerts())
        manager.observe("HighLatency", signals)  # the same evaluation again changes nothing
        assert sorted((v.alert.fingerprint, v.alert.state) for v in manager.active_alerts()) == once
        firing = {v.alert.fingerprint for v in manager.active_alerts() if v.alert.state == "firing"}
        assert firing == {fingerprint(s.labels) for s in signals}
        clock.advance(10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    alerts=st.lists(labels_strategy, min_size=1, max_size=5),
    value=st.sampled_from(["a", "b", "payments"]),
    steps=st.lists(st.integers(min_value=0, max_value=4000), min_size=1, max_size=5),
)
def test_a_silence_never_lets_a_matching_alert_notify(
    tmp_path_factory: pytest.TempPathFactory, alerts: list[dict[str, str]], value: str, steps: list[int]
) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    manager = make_manager(tmp_path_factory.mktemp("silence"), clock, sink, [], wait=0, interval=60, repeat=600)
    manager.add_silence([f"service={value}"], created_by="cli:t", comment="c", duration_s=10_000)
    for step in steps:
        manager.observe("HighLatency", [signal(**labels) for labels in alerts])
        manager.tick()
        clock.advance(step)
    sent = [a for n in sink.got for a in n.alerts]
    assert all(a.labels.get("service") != value for a in sent)
