"""The watch part of ``finpilot demo``: a latency anomaly on one replica, the alert, the runbook, recovery.

The demo's watch service (``finpilot up``, :mod:`finpilot.cli._watch_up`) scores the p99 latency
of each payments replica from the router's histogram every few seconds. The tour adds latency to
every request the router sends to ``payments/0`` and follows what happens in the ledger:

1. ``watch.anomaly`` and ``watch.alert`` (fire) naming that replica, with the series, the value
   and the console link;
2. the ``latency-anomaly`` runbook's ``runbook.action`` (restart) and the healer's
   ``heal.restart`` of that replica (the restarted process no longer carries the delay);
3. recovery, measured by the tour itself: requests through the router are fast again.

The detectors learn a minute of normal latency first; a tour started sooner waits for that.
"""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

from finpilot.audit import Ledger
from finpilot.audit.kinds import HEAL_RESTART, RUNBOOK_ACTION, WATCH_ALERT, WATCH_ANOMALY
from finpilot.cli._context import cli_actor
from finpilot.cli._demo_tour_cmd import StepResult, _entries_since, _say, _wait
from finpilot.cli._watch_up import DEMO_READS, DEMO_SCRAPE_INTERVAL_S
from finpilot.core import http_client
from finpilot.heal import RuntimeClient

SLOT = "payments/0"
DELAY_MS = 1000.0
"""Added to every request the router sends to the slot: far above the demo's p99 floor (0.4 s)."""
WARMUP_S = (DEMO_READS[0].warmup_points + 2) * DEMO_SCRAPE_INTERVAL_S
"""How long after ``finpilot up`` started the latency detectors have learned enough to raise anomalies."""
_PROBES = 12


def _slowest_s(payments_url: str) -> float:
    """The slowest of a few requests through the router (both replicas answer some of them)."""
    slowest = 0.0
    with http_client(timeout_s=10) as client:
        for _ in range(_PROBES):
            began = time.monotonic()
            client.get(f"{payments_url}/healthz")
            slowest = max(slowest, time.monotonic() - began)
    return slowest


def watch_tour(client: RuntimeClient, ledger: Ledger, info: dict[str, Any], timeout: float) -> StepResult:
    """Inject latency on one replica and follow the anomaly, the alert, the runbook and the recovery."""
    started_at = float(info.get("started_at") or 0.0)
    payments_url = str(info.get("payments") or "")
    ready_in = started_at + WARMUP_S - time.time()
    if ready_in > 0:
        _say(f"   the latency detectors are still learning; waiting {ready_in:.0f} s")
        time.sleep(ready_in)
    _say(
        f"[bold]Latency anomaly[/]: the router adds {DELAY_MS:.0f} ms to every request to {SLOT}; the watch "
        f"service scores each replica's p99 latency every {DEMO_SCRAPE_INTERVAL_S:g} s, a latency alert "
        "makes the latency-anomaly runbook restart that replica."
    )
    start = ledger.size
    began = time.monotonic()
    client.chaos("latency", SLOT, actor=cli_actor(), ms=DELAY_MS)
    wanted = {WATCH_ALERT.name, WATCH_ANOMALY.name, RUNBOOK_ACTION.name, HEAL_RESTART.name}
    mine = f"replica:{SLOT}"
    seen: dict[str, dict[str, Any]] = {}
    times: dict[str, float] = {}

    def progressed() -> bool:
        for entry in _entries_since(ledger, start, wanted):
            kind, subject = str(entry["kind"]), str(entry.get("subject", ""))
            slot = str(entry.get("evidence", {}).get("slot", ""))
            key = {
                WATCH_ANOMALY.name: "anomaly" if subject.startswith(mine) else "",
                WATCH_ALERT.name: "alert" if entry["action"] == "fire" and subject.startswith(mine) else "",
                RUNBOOK_ACTION.name: "runbook" if entry["action"] == "restart" else "",
                HEAL_RESTART.name: "restart" if entry["action"] == "terminate" and slot == SLOT else "",
            }[kind]
            if key and key not in seen:
                seen[key] = entry
                times[key] = round(time.monotonic() - began, 2)
        return {"alert", "runbook", "restart"} <= set(seen)

    _wait(progressed, timeout + WARMUP_S)
    alert = seen.get("alert")
    if alert is None:
        client.chaos("latency", SLOT, actor=cli_actor(), ms=0)  # leave the demo as it was
        return StepResult(
            "latency", SLOT, "timeout", note=f"no latency alert on {SLOT} within {timeout + WARMUP_S:g} s"
        )
    evidence = alert.get("evidence", {})
    _say(
        f"   alert {escape(str(evidence.get('alertname')))} fired {times['alert']:.1f} s after the fault: "
        f"{escape(str(evidence.get('series')))} = {float(evidence.get('value') or 0):.3f} s "
        f"(score {float(evidence.get('score') or 0):.3f})"
    )
    _say(f"   link: {escape(str(evidence.get('link')))}")
    runbook = seen.get("runbook")
    if runbook is None or "restart" not in seen:
        client.chaos("latency", SLOT, actor=cli_actor(), ms=0)
        return StepResult(
            "latency", SLOT, "timeout", healer_s=times["alert"], note="the runbook did not restart the replica in time"
        )
    _say(
        f"   runbook {escape(str(runbook.get('subject')))}: restart {runbook.get('outcome')} "
        f"{times['runbook']:.1f} s after the fault"
    )

    def fast() -> float | None:
        slowest = _slowest_s(payments_url)
        return slowest if slowest < DELAY_MS / 1000 / 2 else None

    slowest = _wait(fast, timeout) if payments_url else None
    if slowest is None:
        client.chaos("latency", SLOT, actor=cli_actor(), ms=0)
        return StepResult("latency", SLOT, "timeout", healer_s=times["alert"], note="latency did not recover in time")
    recovered = round(time.monotonic() - began, 2)
    _say(
        f"   recovered {recovered:.1f} s after the fault: "
        f"the slowest of {_PROBES} requests took {slowest * 1000:.0f} ms"
    )
    return StepResult(
        "latency",
        SLOT,
        "recovered",
        serving_again_s=recovered,
        healer_s=times["alert"],
        note=f"alert after {times['alert']:.1f} s, runbook restart after {times['runbook']:.1f} s",
        details={
            "alert": {
                "alertname": evidence.get("alertname"),
                "series": evidence.get("series"),
                "value": evidence.get("value"),
                "score": evidence.get("score"),
                "link": evidence.get("link"),
                "entry": int(alert["index"]),
            },
            "alert_after_s": times["alert"],
            "anomaly_after_s": times.get("anomaly"),
            "runbook_after_s": times["runbook"],
            "runbook_outcome": runbook.get("outcome"),
            "recovered_after_s": recovered,
            "slowest_request_ms": round(slowest * 1000, 1),
        },
    )
