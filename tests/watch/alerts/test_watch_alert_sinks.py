"""The webhook and Slack sinks against a real local HTTP receiver; the outbox when the receiver fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alert_helpers import Receiver

from finpilot.core import FakeClock, Settings, webhook_signature_ok
from finpilot.watch import AlertConfigError, AlertManager, Signal, SinkDeliveryError, SlackSink, WebhookSink

SECRET = "s3cret-for-tests"


def _settings(tmp_path: Path, receiver: Receiver, **extra: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "watch": {
                "alerts": {
                    "group_wait_s": 0,
                    "console_base_url": "https://console.example",
                    "sinks": [
                        {"name": "hook", "type": "webhook", "url": {"env": "HOOK_URL"}, "secret": {"env": "HOOK_KEY"}},
                        {"name": "chat", "type": "slack", "url": {"env": "SLACK_URL"}},
                    ],
                    **extra,
                }
            },
        }
    )


def _environ(receiver: Receiver) -> dict[str, str]:
    return {
        "HOOK_URL": receiver.url + "/hook?token=abc",
        "HOOK_KEY": SECRET,
        "SLACK_URL": receiver.url + "/services/T0/B0/XYZ",
    }


def _latency() -> Signal:
    return Signal(
        rule="PaymentsLatencyHigh",
        kind="metric",
        labels={
            "alertname": "PaymentsLatencyHigh",
            "severity": "critical",
            "service": "payments",
            "replica": "payments/1",
        },
        annotations={"summary": "p99 0.9s on payments/1"},
        series='latency_seconds{replica="payments/1",service="payments"}',
        window_start=1767225300.0,
        window_end=1767225600.0,
        value=0.9,
        threshold=0.5,
    )


def test_a_firing_alert_reaches_the_webhook_signed_with_series_window_and_link(
    tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    entries: list[Any] = []
    manager = AlertManager.from_settings(
        _settings(tmp_path, receiver), clock=clock, record=entries.append, environ=_environ(receiver)
    )
    manager.observe("PaymentsLatencyHigh", [_latency()])
    report = manager.tick()
    assert report.delivered == 2
    hook = next(r for r in receiver.got if r.path.startswith("/hook"))
    assert webhook_signature_ok(SECRET.encode(), hook.body, hook.headers["X-Finpilot-Signature"])
    body = hook.json()
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "hook"
    assert body["groupLabels"] == {"alertname": "PaymentsLatencyHigh"}
    (alert,) = body["alerts"]
    assert alert["series"] == 'latency_seconds{replica="payments/1",service="payments"}'
    assert alert["window"] == {"start": "2025-12-31T23:55:00.000000Z", "end": "2026-01-01T00:00:00.000000Z"}
    assert alert["link"].startswith("https://console.example/watch/metrics?series=latency_seconds")
    assert "start=1767225300" in alert["link"]
    assert alert["generatorURL"] == alert["link"]
    assert alert["labels"]["replica"] == "payments/1"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    slack = next(r for r in receiver.got if r.path.startswith("/services/"))
    message = slack.json()
    assert message["text"] == "[FIRING:1] PaymentsLatencyHigh"
    assert "payments/1" in message["blocks"][1]["text"]["text"]
    # No URL (it holds a token) and no secret in any entry.
    for entry in entries:
        text = str(entry.evidence)
        assert "token=abc" not in text
        assert "XYZ" not in text
        assert SECRET not in text


def test_a_webhook_that_fails_keeps_the_notification_and_the_next_try_delivers_it(
    tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.status = 503
    manager = AlertManager.from_settings(
        _settings(tmp_path, receiver), clock=clock, environ=_environ(receiver), sleep=lambda _s: None
    )
    manager.observe("PaymentsLatencyHigh", [_latency()])
    assert manager.tick().failed == 2
    assert len(receiver.got) == 6  # three immediate attempts per sink
    assert {p["sink"] for p in manager.pending_deliveries()} == {"hook", "chat"}
    receiver.status = 200
    clock.advance(11)
    assert manager.tick().delivered == 2
    assert manager.pending_deliveries() == []


def test_a_client_error_is_not_retried_at_once_but_still_kept(receiver: Receiver) -> None:
    receiver.status = 400
    sink = WebhookSink("hook", receiver.url + "/hook")
    from finpilot.watch import Notification

    with pytest.raises(SinkDeliveryError) as caught:
        sink.send(Notification("hook", "g", {}, (), "http://c", 0.0))
    assert caught.value.status_code == 400
    assert not caught.value.retryable
    assert receiver.url not in str(caught.value)


def test_an_unreachable_sink_names_the_sink_not_the_url() -> None:
    from finpilot.watch import Notification

    sink = SlackSink("chat", "http://127.0.0.1:9/services/T/B/SECRETPART", timeout_s=1)
    with pytest.raises(SinkDeliveryError) as caught:
        sink.send(Notification("chat", "g", {}, (), "http://c", 0.0))
    assert "chat" in str(caught.value)
    assert "SECRETPART" not in str(caught.value)


def test_alert_test_sends_to_one_sink_and_refuses_an_unknown_one(
    tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    manager = AlertManager.from_settings(_settings(tmp_path, receiver), clock=clock, environ=_environ(receiver))
    outcome = manager.send_test("hook")
    assert outcome["outcome"] == "delivered"
    assert receiver.got[0].json()["alerts"][0]["labels"]["alertname"] == "FinpilotTestAlert"
    with pytest.raises(AlertConfigError, match="no alert sink is called 'pager'") as caught:
        manager.send_test("pager")
    assert caught.value.fix == "use one of: chat, hook"
