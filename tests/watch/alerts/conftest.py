"""Fixtures for the alert tests (the helpers they use live in alert_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alert_helpers import Receiver

from finpilot.core import FakeClock


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
