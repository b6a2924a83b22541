"""Fixtures of the metrics tests: the real ``promtool`` (Prometheus 2.42, Debian's) when it is installed."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """The ``promtool`` binary: fails under CI (``CI`` set) when missing, skips elsewhere."""
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool (Debian's prometheus package) is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    return found
