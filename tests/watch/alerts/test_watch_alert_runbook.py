"""The example runbook validates, and reacts to a firing latency alert by restarting that replica."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finpilot.audit import Ledger, open_ledger
from finpilot.core import FakeClock, Settings
from finpilot.heal import RunbookEngine, load_runbooks
from finpilot.watch import AlertManager, AlertStore, Anomaly, parse_rules

RUNBOOKS = Path(__file__).resolve().parents[3] / "examples" / "runbooks"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(Settings(data_dir=tmp_path / "state")) as opened:
        yield opened


def test_the_latency_runbook_loads() -> None:
    books = {b.name: b for b in load_runbooks(RUNBOOKS)}
    book = books["latency-anomaly"]
    assert book.trigger.kind == "watch.alert"
    assert [a.name for a in book.actions] == ["restart", "page"]


def test_a_latency_anomaly_alert_restarts_that_replica(tmp_path: Path, ledger: Ledger) -> None:
    (book,) = [b for b in load_runbooks(RUNBOOKS) if b.name == "latency-anomaly"]
    engine = RunbookEngine([book], ledger)
    restarted: list[str] = []

    def restart(request: Any) -> dict[str, Any]:
        restarted.append(request.params["target"])
        return {"restarted": request.params["target"]}

    engine.register_action("restart", restart)
    engine.start()
    try:
        rules = parse_rules(
            "rules:\n  - alert: PaymentsLatencyAnomaly\n    type: anomaly\n    series: latency_seconds\n"
            "    labels: {severity: warning}\n"
        )

        def record(entry: Any) -> None:
            ledger.append(entry)
            engine.offer(entry)

        manager = AlertManager(AlertStore(tmp_path / "a.sqlite"), sinks={}, clock=FakeClock(), record=record)
        t = manager.now()
        labels = {"service": "payments", "replica": "payments/2"}
        manager.on_anomaly(Anomaly("latency_seconds", labels, t, 0.8, 0.97, "hst", 0.9), rules)
        assert engine.wait_idle(30)
    finally:
        engine.stop()
    assert restarted == ["payments/2"]
    kinds = [(e.fields["kind"], e.fields["action"], e.fields["subject"]) for e in ledger.tail(20)]
    assert ("watch.alert", "fire", "replica:payments/2") in kinds
    assert ("runbook.action", "restart", "runbook:latency-anomaly") in kinds
    assert ("runbook.page", "page", "runbook:latency-anomaly") in kinds
