"""Routes: which sinks an alert goes to, and the group it joins there (Alertmanager's routing tree, flat).

Routes are tried in order; the first that matches takes the alert, unless it says
``continue``, and then later ones may too. An alert no route takes goes to the default route
(every sink, the root's grouping). A group is the route plus the values of its ``group_by``
labels (``...`` alone: every label, so each alert is its own group).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from finpilot.core import WatchAlertSettings
from finpilot.watch._alerts._matchers import Matcher, all_match, parse_matchers


@dataclass(frozen=True)
class Route:
    """One route with its timing resolved (the root's where it left them empty)."""

    matchers: tuple[Matcher, ...]
    sinks: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float
    continue_: bool = False

    def group(self, index: int, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The key of the group an alert with ``labels`` joins on this route, and the group's labels."""
        if self.group_by == ("...",):
            chosen = dict(labels)
        else:
            chosen = {name: labels[name] for name in self.group_by if name in labels}
        return f"{index}:" + json.dumps(sorted(chosen.items()), separators=(",", ":")), chosen


def routes_from_settings(settings: WatchAlertSettings) -> list[Route]:
    """The configured routes, then the default route (every sink) that catches the rest."""
    routes = [
        Route(
            matchers=parse_matchers(spec.matchers, field=f"watch.alerts.routes[{i}].matchers"),
            sinks=tuple(spec.sinks),
            group_by=tuple(spec.group_by if spec.group_by is not None else settings.group_by),
            group_wait_s=settings.group_wait_s if spec.group_wait_s is None else spec.group_wait_s,
            group_interval_s=settings.group_interval_s if spec.group_interval_s is None else spec.group_interval_s,
            repeat_interval_s=settings.repeat_interval_s if spec.repeat_interval_s is None else spec.repeat_interval_s,
            continue_=spec.continue_,
        )
        for i, spec in enumerate(settings.routes)
    ]
    routes.append(
        Route(
            matchers=(),
            sinks=tuple(s.name for s in settings.sinks),
            group_by=tuple(settings.group_by),
            group_wait_s=settings.group_wait_s,
            group_interval_s=settings.group_interval_s,
            repeat_interval_s=settings.repeat_interval_s,
        )
    )
    return routes


def matching_routes(routes: Sequence[Route], labels: Mapping[str, str]) -> list[tuple[int, Route]]:
    """The routes an alert with ``labels`` takes (the last route is the default: it takes what none did)."""
    taken: list[tuple[int, Route]] = []
    for index, route in enumerate(routes[:-1]):
        if all_match(route.matchers, labels):
            taken.append((index, route))
            if not route.continue_:
                return taken
    if not taken and routes:
        taken.append((len(routes) - 1, routes[-1]))
    return taken
