"""What every request handler needs, kept in one object on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import jinja2
from starlette.requests import HTTPConnection

from finpilot.audit import Ledger
from finpilot.console._metrics import ConsoleMetrics
from finpilot.console._roles import Permission
from finpilot.console._tokens import TokenStore
from finpilot.core import Clock, Settings
from finpilot.fraud import FraudService


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


def console_state(conn: HTTPConnection) -> ConsoleState:
    """The state of the app serving this request."""
    return cast(ConsoleState, conn.app.state.console)
