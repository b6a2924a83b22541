"""The package's front door: ``__all__`` is honest, documented, and finpilot's app layers stay out."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types

import finpilot_payments


def test_all_is_unique_complete_and_documented() -> None:
    exported = list(finpilot_payments.__all__)
    assert len(set(exported)) == len(exported)
    public = {
        name
        for name, value in vars(finpilot_payments).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= set(exported)
    for name in exported:
        value = getattr(finpilot_payments, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"finpilot_payments.{name} has no docstring"


def test_the_service_imports_nothing_from_finpilot() -> None:
    code = (
        "import sys, finpilot_payments, finpilot_payments._serve, finpilot_payments._postgres;"
        "print(sorted(m for m in sys.modules if m == 'finpilot' or m.startswith('finpilot.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
