"""Annotation templates: ``{value}``, ``{threshold}``, ``{series}``, ``{labels.NAME}`` ... filled per alert.

Unknown names are refused when the rule file is loaded (:func:`check_template`), not when the
alert first fires, so a typo never turns into a broken page at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from finpilot.core import FieldProblem

TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
VARIABLES = frozenset({"value", "threshold", "series", "score", "breach_expected_at", "window_start", "window_end"})
"""The names a template may use besides ``{labels.NAME}``."""


def check_template(text: str) -> str:
    """``text`` unchanged, or ``FieldProblem`` naming the first unknown variable."""
    for name in TEMPLATE.findall(text):
        if name not in VARIABLES and not (name.startswith("labels.") and len(name) > len("labels.")):
            raise FieldProblem(
                f"unknown template variable '{{{name}}}'",
                fix=f"use one of {', '.join('{' + v + '}' for v in sorted(VARIABLES))} or {{labels.NAME}}",
            )
    return text


def render(text: str, variables: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """``text`` with every variable replaced; a label the alert lacks, or a value it has not, becomes ''."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("labels."):
            return labels.get(name[len("labels.") :], "")
        return variables.get(name, "")

    return TEMPLATE.sub(one, text)


def number(value: float | None) -> str:
    """A value as templates show it: four significant digits, '' when there is none."""
    return "" if value is None else f"{value:.4g}"
