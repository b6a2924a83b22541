"""Helpers shared by the CLI tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

import finpilot

SOURCE_ROOT = Path(finpilot.__file__).resolve().parent.parent

Invoke = Callable[..., Result]
"""The ``invoke`` fixture: ``invoke(*args, input=None, data=True)``."""


def append_json(invoke: Invoke, document: Any) -> Result:
    """Append ``document`` (any JSON value) through stdin."""
    return invoke("audit", "append", input=json.dumps(document))


def entry(**overrides: Any) -> dict[str, Any]:
    """A valid entry document, with ``overrides`` applied."""
    document: dict[str, Any] = {
        "kind": "custom.deploy",
        "actor": "pipeline:main",
        "action": "promote",
        "subject": "service:payments@1.4.2",
        "outcome": "ok",
        "evidence": {"canary_p": 0.41},
    }
    document.update(overrides)
    return document


def finpilot_argv() -> list[str]:
    """How to start the real CLI: the venv's console script when installed, else ``python -m``."""
    script = Path(sys.executable).with_name("finpilot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "finpilot.cli"]


def subprocess_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with an empty HOME and this checkout importable, and no FINPILOT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPILOT_")}
    env["HOME"] = str(home)
    # Test the source tree in front of us, whether or not (and wherever) finpilot is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env
