"""A bounded schemathesis run against an ASGI app in process: a few examples per operation.

Every finpilot server (the console, the runtime controller, the payments service) gets the same
run: for each operation in its own ``/openapi.json``, a handful of positive and negative cases,
derandomized, unshrunk, no deadline. A case fails on a 5xx or on any answer its document does
not describe (status, content type, headers, body). Every failure of every operation is
collected and reported together, so one run shows all that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

__all__ = ["CHECKS", "fuzz_app"]

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
"""Zero 5xx, and every answer as the document describes it."""

EXAMPLES = 4
"""Cases per operation and generation mode: enough to find a 5xx or a mismatch, fast enough for every run."""


def _walk(operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int, failures: list[str]) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except FailureGroup as exc:
            failures.append(f"{operation.label} [{mode}]: {exc}")
        except Exception as exc:  # the in-process transport re-raises what the app did not handle: a 500
            failures.append(f"{operation.label} [{mode}]: unhandled {type(exc).__name__}: {exc}")

    try:
        one()
    except Unsatisfiable:
        # No negative case exists for an operation that takes no input at all.
        assert mode is GenerationMode.NEGATIVE, operation.label


def fuzz_app(app: Any, headers: Mapping[str, str] | None = None, *, examples: int = EXAMPLES) -> list[str]:
    """Run the bounded walk over ``app``; one report per failing case (empty when all pass)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _walk(result.ok(), mode, dict(headers or {}), examples, failures)
    return failures
