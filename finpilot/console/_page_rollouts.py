"""The Rollouts page: each rollout's phase and weight, canary and baseline per metric over time, verdicts.

``GET /rollouts`` is the page (READ): the rollouts, the chosen one (``?id=``, else the latest) with
its current canary weight, one inline SVG chart per metric (canary and baseline at each analysis;
drawn on the server, nothing from elsewhere) and the verdict history with every statistic.
``/api/v1/rollouts`` (:mod:`finpilot.console._api_rollouts`) gives the same data as JSON and takes
the operator's promote, abort, pause and resume.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from finpilot.console._pages import login_redirect, page_principal, render
from finpilot.console._state import ConsoleState, NavItem, console_state
from finpilot.deliver import RolloutRecord, RolloutStore, store_path

PAGE = NavItem("Rollouts", "/rollouts")
"""The Rollouts page's navigation entry."""

CHART_W, CHART_H, PAD = 480, 120, 6

router = APIRouter(tags=["rollouts"])


def rollout_store(state: ConsoleState) -> RolloutStore:
    """The store the rollout loops write (``<data_dir>/rollouts.db``)."""
    return RolloutStore(store_path(state.settings.data_dir))


def metric_charts(record: RolloutRecord) -> list[dict[str, Any]]:
    """Per metric: its name, the canary's and the baseline's SVG polyline points, the largest value."""
    series: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for point in record.analyses:
        for metric in point.metrics:
            arms = series.setdefault(str(metric["name"]), {"canary": [], "baseline": []})
            for arm in ("canary", "baseline"):
                value = metric.get(arm)
                if isinstance(value, int | float):
                    arms[arm].append((point.at, float(value)))
    if not record.analyses:
        return []
    t0, t1 = record.analyses[0].at, record.analyses[-1].at
    charts = []
    for name, arms in series.items():
        top = max((v for rows in arms.values() for _, v in rows), default=0.0) or 1.0

        def points(rows: list[tuple[float, float]], top: float = top) -> str:
            span = (t1 - t0) or 1.0
            return " ".join(
                f"{PAD + (t - t0) / span * (CHART_W - 2 * PAD):.1f},{CHART_H - PAD - v / top * (CHART_H - 2 * PAD):.1f}"
                for t, v in rows
            )

        charts.append(
            {"name": name, "canary": points(arms["canary"]), "baseline": points(arms["baseline"]), "top": top}
        )
    return charts


@router.get("/rollouts", name="rollouts_page", include_in_schema=False)
def rollouts_page(request: Request, id: str | None = None) -> Response:
    """Every rollout, and one in detail: weight, metric charts, verdict history, actions."""
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request)
    records = rollout_store(console_state(request)).all()
    chosen = next((r for r in records if r.id == id), records[0] if records else None)
    context = {
        "rollouts": [r.summary() for r in records],
        "rollout": chosen,
        "charts": metric_charts(chosen) if chosen is not None else [],
        "chart_w": CHART_W,
        "chart_h": CHART_H,
    }
    return render(request, "rollouts.html", context, principal=principal)
