"""``finpilot watch alerts | alert-rules | alert-test | silence add/list/expire``, in process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_helpers import Receiver
from typer.testing import CliRunner, Result

from finpilot.cli import app
from finpilot.core import load_settings
from finpilot.watch import AlertManager, Signal

Invoke = Callable[..., Result]


@pytest.fixture
def config(tmp_path: Path, receiver: Receiver) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "latency.yaml").write_text(
        "rules:\n  - alert: PaymentsLatencyHigh\n"
        "    query: {selector: latency_seconds, aggregate: max, by: [replica]}\n"
        "    threshold: 0.5\n    for: 1m\n    labels: {severity: critical}\n"
    )
    path = tmp_path / "finpilot.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "watch:\n  alerts:\n"
        f"    rules_dir: {rules}\n"
        "    sinks:\n      - {name: hook, type: webhook, url: {env: TEST_HOOK_URL}}\n"
    )
    return path


@pytest.fixture
def invoke(config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver: Receiver) -> Invoke:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "/hook")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--config", str(config), *args])

    return run


def test_silences_are_added_listed_and_expired(invoke: Invoke) -> None:
    added = invoke(
        "watch", "silence", "add", "--match", "service=payments", "--duration", "2h", "--comment", "deploy", "--json"
    )
    assert added.exit_code == 0, added.output
    silence = json.loads(added.stdout)["silence"]
    assert silence["matchers"] == ["service=payments"]
    assert silence["ends_at"] - silence["starts_at"] == 7200
    listed = json.loads(invoke("watch", "silence", "list", "--json").stdout)["silences"]
    assert [s["id"] for s in listed] == [silence["id"]]
    expired = invoke("watch", "silence", "expire", silence["id"], "--json")
    assert json.loads(expired.stdout)["silence"]["state"] == "expired"
    assert json.loads(invoke("watch", "silence", "list", "--json").stdout)["silences"] == []
    assert len(json.loads(invoke("watch", "silence", "list", "--all", "--json").stdout)["silences"]) == 1
    entries = json.loads(invoke("audit", "tail", "--json").stdout)
    text = json.dumps(entries)
    assert '"watch.alert"' in text
    assert "expire" in text


def test_bad_silence_input_exits_2_naming_the_option(invoke: Invoke) -> None:
    bad = invoke("watch", "silence", "add", "--match", "service", "--comment", "x", "--json")
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["field"] == "--match"
    bad = invoke("watch", "silence", "add", "--match", "a=b", "--comment", "x", "--duration", "soon")
    assert bad.exit_code == 2
    missing = invoke("watch", "silence", "expire", "nope")
    assert missing.exit_code == 2


def test_alerts_lists_what_the_manager_keeps(invoke: Invoke, config: Path) -> None:
    assert json.loads(invoke("watch", "alerts", "--json").stdout) == {"alerts": [], "pending_deliveries": []}
    manager = AlertManager.from_settings(load_settings(config), with_sinks=False)
    labels = {"alertname": "PaymentsLatencyHigh", "severity": "critical", "replica": "payments/1"}
    manager.observe("PaymentsLatencyHigh", [Signal("PaymentsLatencyHigh", "metric", labels, {}, "latency", 0, 1)])
    manager.close()
    listed = json.loads(invoke("watch", "alerts", "--json").stdout)["alerts"]
    assert [(a["state"], a["labels"]["replica"]) for a in listed] == [("firing", "payments/1")]
    assert listed[0]["window"] == {"start": 0, "end": 1}
    table = invoke("watch", "alerts")
    assert "PaymentsLatencyHigh" in table.stdout


def test_alert_rules_validates_and_lists(invoke: Invoke, config: Path, tmp_path: Path) -> None:
    rules = json.loads(invoke("watch", "alert-rules", "--json").stdout)["rules"]
    assert [(r["id"], r["type"], r["for"]) for r in rules] == [("PaymentsLatencyHigh", "metric", 60.0)]
    (tmp_path / "rules" / "bad.yaml").write_text("rules:\n  - alert: X\n    query: {selector: up}\n")
    bad = invoke("watch", "alert-rules", "--json")
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["field"] == "rules.0.threshold"


def test_alert_test_reaches_the_sink(invoke: Invoke, receiver: Receiver) -> None:
    sent = invoke("watch", "alert-test", "--sink", "hook", "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["outcome"] == "delivered"
    assert receiver.got[0].json()["alerts"][0]["labels"]["alertname"] == "FinpilotTestAlert"
    unknown = invoke("watch", "alert-test", "--sink", "pager")
    assert unknown.exit_code == 2
    receiver.status = 500
    failed = invoke("watch", "alert-test", "--sink", "hook", "--json")
    assert failed.exit_code == 1
    assert "answered HTTP 500" in json.loads(failed.stdout)["message"]
