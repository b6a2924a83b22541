"""The surge part of ``finpilot demo``: wait for "market open" and show how it was met.

``finpilot up`` (the demo on the runtime) sends traffic on a compressed trading day with a surge
at a known time, and runs the predictive autoscaler on payments (:mod:`finpilot.cli._watch_autoscale_up`).
This part reads the day from ``demo.json``, waits for the next surge to pass, then reports from
the audit ledger when replicas were added (the ``watch.scale`` entries, with how long before the
surge) and from the metrics store the router's p99 latency through the surge, against the SLO.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape

from finpilot.audit import Ledger
from finpilot.audit.kinds import WATCH_SCALE
from finpilot.cli._output import err
from finpilot.core import NotFoundError, Settings
from finpilot.watch import EmbeddedQuery, RateSchedule, open_metrics_store

SLO_P99_S = 1.0
"""The demo's latency SLO: p99 through the payments router within 1 s during the surge."""
_LATENCY = 'finpilot_router_upstream_seconds_bucket{service="payments"}'


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%H:%M:%S")


def _schedule(info: dict[str, Any]) -> RateSchedule:
    day = info.get("surge")
    if not day:
        raise NotFoundError("the running `finpilot up` sends no surge", fix="restart it with `finpilot up --surge`")
    return RateSchedule(
        base=float(day["base_rps"]),
        period_s=float(day["period_s"]),
        surge_at_s=float(day["surge_at_s"]),
        surge_s=float(day["surge_s"]),
        factor=float(day["factor"]),
        origin=float(day["origin"]),
    )


def _scale_entries(ledger: Ledger, start: float, end: float) -> list[dict[str, Any]]:
    found = []
    for stored in reversed(ledger.tail(min(10_000, max(1, ledger.size)))) if ledger.size else []:
        fields = stored.fields
        if fields.get("kind") != WATCH_SCALE.name:
            continue
        at = datetime.fromisoformat(str(fields["time"]).replace("Z", "+00:00")).timestamp()
        if start <= at <= end:
            found.append({"at": at, **fields})
    return found


def _p99(settings: Settings, start: float, end: float) -> float | None:
    """The router's p99 over the surge, from its latency histogram in the metrics store."""
    store = open_metrics_store(settings)
    try:
        query = EmbeddedQuery(store)
        window = max(end - start, 10.0)
        p99 = [
            v
            for s in query.histogram_quantile(0.99, _LATENCY, end, end, 1.0, window)
            for _, v in s.points
            if math.isfinite(v)
        ]
    finally:
        store.close()
    return max(p99) if p99 else None


def surge_tour(
    settings: Settings,
    ledger: Ledger,
    info: dict[str, Any],
    ready_now: Callable[[], int],
    *,
    settle_s: float = 8.0,
) -> dict[str, Any]:
    """Wait for the next surge to pass; what was done before it and how it went (JSON-ready).

    ``ready_now`` says how many payments replicas are ready (the runtime's view), read as the surge starts.
    """
    schedule = _schedule(info)
    now = time.time()
    start, end = schedule.next_surge(now + 2)
    err().print(
        f"[bold]Market open[/]: the traffic rises x{schedule.factor:g} (to {schedule.base * schedule.factor:g}/s) "
        f"at {_clock(start)} for {schedule.surge_s:g} s (in {start - now:.0f} s); waiting for it to pass"
    )
    time.sleep(max(0.0, start - time.time()))
    ready = ready_now()
    time.sleep(max(0.0, end + settle_s - time.time()))
    actions = _scale_entries(ledger, start - schedule.period_s / 2, end + settle_s)
    rows = [
        {
            "time": _clock(a["at"]),
            "before_surge_s": round(start - a["at"], 1),
            "from": a["evidence"]["from_replicas"],
            "to": a["evidence"]["to_replicas"],
            "reason": a["evidence"]["reason"],
            "forecast_upper": round(float(a["evidence"]["forecast"]["upper_max"]), 1),
            "forecast_model": a["evidence"]["forecast"]["model"],
            "outcome": a["outcome"],
        }
        for a in actions
    ]
    ups_before = [r for r in rows if r["to"] > r["from"] and r["before_surge_s"] > 0]
    p99 = _p99(settings, start, end)
    err().print(f"   surge started {_clock(start)}, ended {_clock(end)}")
    for r in rows:
        when = f"{r['before_surge_s']:.1f} s before the surge" if r["before_surge_s"] > 0 else "during/after it"
        err().print(
            f"   {r['time']}: payments {r['from']}→{r['to']} ({escape(r['reason'])}, forecast up to "
            f"{r['forecast_upper']:g}/s), {when}"
        )
    if not rows:
        err().print("   no scaling action around the surge (is the autoscaler running? see `finpilot up`'s log)")
    p99_text = "no latency samples" if p99 is None else f"{p99 * 1000:.0f} ms"
    err().print(f"   replicas taking traffic at the surge's start: {ready}")
    err().print(f"   p99 through the router during the surge: {p99_text} (SLO {SLO_P99_S * 1000:.0f} ms)")
    met = bool(ups_before) and p99 is not None and p99 <= SLO_P99_S
    return {
        "surge": {"start": start, "end": end, "rate": schedule.base * schedule.factor, "base": schedule.base},
        "actions": rows,
        "scaled_before_s": ups_before[0]["before_surge_s"] if ups_before else None,
        "ready_at_start": ready,
        "p99_s": p99,
        "slo_p99_s": SLO_P99_S,
        "met": met,
    }
