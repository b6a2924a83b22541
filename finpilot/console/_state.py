"""What every request handler needs, kept in one object on ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import jinja2
from starlette.requests import HTTPConnection

from finpilot.audit import Ledger
from finpilot.console._metrics import ConsoleMetrics
from finpilot.console._roles import Permission
from finpilot.console._tokens import TokenStore
from finpilot.core import Clock, Settings
from finpilot.fraud import AlertManager, FraudService, FraudStats
from finpilot.watch import AlertManager as WatchAlertManager
from finpilot.watch import MetricsQuery

if TYPE_CHECKING:
    from finpilot.console._refusals import RefusalWindows


class Summarized(Protocol):
    """Anything that can describe itself as a JSON-able dict (a drift monitor, for the Fraud page)."""

    def summary(self) -> dict[str, Any]:
        """The current state, JSON-able."""
        ...


@dataclass(frozen=True, slots=True)
class NavItem:
    """One link in the console's navigation bar; shown to principals holding ``permission``."""

    title: str
    path: str
    permission: Permission = Permission.READ


@dataclass(eq=False, slots=True)
class ConsoleState:
    """The app's collaborators. ``nav`` grows as capabilities register their pages."""

    settings: Settings
    ledger: Ledger
    tokens: TokenStore
    clock: Clock
    templates: jinja2.Environment
    metrics: ConsoleMetrics
    nav: list[NavItem] = field(default_factory=list)
    fraud: FraudService | None = None
    fraud_problem: str = "no fraud model loaded; train one with `finpilot fraud train` and set fraud.model_dir"
    fraud_stats: FraudStats | None = None
    fraud_alerts: AlertManager | None = None
    fraud_drift: Summarized | None = None
    """A drift monitor (anything with ``summary() -> dict``) for the Fraud page, when one watches the service."""
    watch_metrics: MetricsQuery | None = None
    """Where the Metrics page and ``/api/v1/watch/query`` read metrics (embedded store or Prometheus)."""
    watch_marks: Callable[[float, float], list[tuple[float, str]]] | None = None
    """Events to mark on the Metrics page's charts in ``[start, end]``: ``(time, label)``, e.g. scaling actions."""
    alerts: WatchAlertManager | None = None
    """The watch alert manager the Alerts page and ``/api/v1/watch/alerts`` read (and silences change)."""
    refusals: RefusalWindows | None = None
    """The open windows of refused requests, summarised in the ledger as each ends (and at shutdown)."""


def console_state(conn: HTTPConnection) -> ConsoleState:
    """The state of the app serving this request."""
    return cast(ConsoleState, conn.app.state.console)
