"""A real Alertmanager (Debian's prometheus-alertmanager): our sink posts, it keeps the alert and routes it on.

This test fails, never skips, when the binary is missing: the acceptance needs the real thing.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alert_helpers import MemoryMetrics, Receiver, RecordingSink, make_manager, running_alertmanager

from finpilot.core import FakeClock
from finpilot.watch import AlertManager, AlertmanagerSink, AlertStore, Route, Signal, WebhookSink, parse_rules


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: Receiver) -> Iterator[str]:
    """A real Alertmanager on a free port, routing everything to the test's webhook receiver."""
    config = (
        "route:\n"
        "  receiver: hook\n"
        "  group_by: [alertname]\n"
        "  group_wait: 0s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        f"      - url: {receiver.url}/from-alertmanager\n"
        "        send_resolved: true\n"
    )
    with running_alertmanager(config, tmp_path) as url:
        yield url


def test_an_alert_reaches_a_real_alertmanager_and_comes_out_of_it(
    tmp_path: Path, alertmanager: str, receiver: Receiver
) -> None:
    # The real clock: Alertmanager compares startsAt and endsAt with its own time.
    sink = AlertmanagerSink("am", alertmanager)
    manager = AlertManager(
        AlertStore(tmp_path / "alerts.sqlite"),
        sinks={"am": sink},
        routes=[Route((), ("am",), ("alertname",), 0, 0.2, 3600)],
        console_base_url="https://console.example",
    )
    signal = Signal(
        rule="PaymentsLatencyHigh",
        kind="anomaly",
        labels={"alertname": "PaymentsLatencyHigh", "severity": "critical", "replica": "payments/1"},
        annotations={"summary": "latency rising on payments/1"},
        series='latency_seconds{replica="payments/1"}',
        window_start=time.time() - 600,
        window_end=time.time(),
        value=0.9,
        threshold=0.5,
    )
    manager.observe("PaymentsLatencyHigh", [signal])
    assert manager.tick().delivered == 1
    stored = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    (alert,) = [a for a in stored if a["labels"].get("alertname") == "PaymentsLatencyHigh"]
    assert alert["labels"]["replica"] == "payments/1"
    assert alert["annotations"]["summary"] == "latency rising on payments/1"
    assert alert["generatorURL"].startswith("https://console.example/watch/metrics?series=latency_seconds")
    assert alert["status"]["state"] == "active"
    # Kept active until our next repeat could come (3600 s repeat + 0.2 s interval), not 5 minutes.
    assert alert["endsAt"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3000))
    # Alertmanager routes it on to the test's webhook receiver: it really came through.
    assert receiver.arrived.wait(15), "Alertmanager never notified the receiver"
    routed = next(r for r in receiver.got if r.path == "/from-alertmanager").json()
    assert routed["alerts"][0]["labels"]["replica"] == "payments/1"
    assert routed["alerts"][0]["generatorURL"] == alert["generatorURL"]
    # Resolving sends endsAt: Alertmanager drops it from the active list and tells the receiver.
    manager.observe("PaymentsLatencyHigh", [])
    time.sleep(0.3)  # the route's group_interval
    assert manager.tick().delivered == 1
    deadline = time.monotonic() + 15
    while not any(r.path == "/from-alertmanager" and r.json()["status"] == "resolved" for r in receiver.got):
        assert time.monotonic() < deadline, "Alertmanager never sent the resolved notification"
        time.sleep(0.1)
    active = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert [a for a in active if a["labels"].get("alertname") == "PaymentsLatencyHigh"] == []


def test_latency_rising_on_one_replica_reaches_the_webhook_and_alertmanager(
    tmp_path: Path, alertmanager: str, receiver: Receiver
) -> None:
    """The acceptance path, minus the demo stack: a rule over metrics, two sinks, one replica named."""
    rules = parse_rules(
        "rules:\n  - alert: PaymentsLatencyHigh\n"
        "    query: {selector: 'latency_seconds{service=\"payments\"}', aggregate: max, by: [service, replica]}\n"
        "    threshold: 0.5\n    for: 0s\n    labels: {severity: critical}\n"
        "    annotations: {summary: 'latency {value}s on {labels.replica}'}\n"
    )
    metrics = MemoryMetrics()
    manager = AlertManager(
        AlertStore(tmp_path / "alerts.sqlite"),
        sinks={
            "hook": WebhookSink("hook", receiver.url + "/hook", secret=b"k"),
            "am": AlertmanagerSink("am", alertmanager),
        },
        routes=[Route((), ("hook", "am"), ("alertname",), 0, 60, 3600)],
        console_base_url="https://console.example",
    )
    now = time.time()
    for step in range(10):  # replica 1 slows down; replica 2 stays fast
        metrics.add(
            "latency_seconds", {"service": "payments", "replica": "payments/1"}, now - 90 + 10 * step, 0.1 * step
        )
        metrics.add("latency_seconds", {"service": "payments", "replica": "payments/2"}, now - 90 + 10 * step, 0.1)
    assert manager.evaluate(rules, metrics) == {}
    assert manager.tick().delivered == 2
    hook = next(r for r in receiver.got if r.path == "/hook").json()
    (alert,) = hook["alerts"]
    assert alert["labels"]["replica"] == "payments/1"
    assert alert["series"] == 'latency_seconds{replica="payments/1",service="payments"}'
    assert set(alert["window"]) == {"start", "end"}
    assert alert["link"].startswith("https://console.example/watch/metrics?")
    stored = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert [a["labels"]["replica"] for a in stored] == ["payments/1"]
    assert stored[0]["annotations"]["summary"] == "latency 0.9s on payments/1"


def test_an_alertmanager_that_is_down_keeps_the_alert(tmp_path: Path) -> None:
    sink = RecordingSink()
    manager = make_manager(tmp_path, FakeClock(), sink, [], wait=0)
    am = AlertmanagerSink("am", f"http://127.0.0.1:{_free_port()}", timeout_s=1, attempts=1)
    manager.sinks["am"] = am
    manager.routes = [Route((), ("am",), ("alertname",), 0, 60, 3600)]
    manager.observe("X", [Signal("X", "metric", {"alertname": "X", "severity": "info"}, {}, "up", 0, 0)])
    assert manager.tick().failed == 1
    assert manager.pending_deliveries()[0]["sink"] == "am"
