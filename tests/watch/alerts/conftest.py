"""Fixtures for the alert tests (the helpers they use live in alert_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alert_helpers import Receiver

from finpilot.core import FakeClock
from finpilot.watch import AlertStore


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when a test says so."""
    return FakeClock()


@pytest.fixture
def entries() -> list[Any]:
    """The audit entries a manager recorded."""
    return []


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP receiver, shut down after the test."""
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture(autouse=True)
def _close_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every alert store a test opened, so no SQLite connection is left to the garbage collector."""
    opened: list[AlertStore] = []
    original = AlertStore.__init__

    def tracking(self: AlertStore, path: Path) -> None:
        original(self, path)
        opened.append(self)

    monkeypatch.setattr(AlertStore, "__init__", tracking)
    yield
    for store in opened:
        store.close()
