"""Bounds every finpilot server puts on request input: JSON nesting depth and integer size.

:func:`parse_json_body` is the one parser of JSON request bodies a server reads by hand:
bounded nesting, no NaN.

``json.loads`` recurses once per level, so ``"[" * 4000`` raised ``RecursionError`` (an HTTP 500)
before this limit existed. No finpilot body needs more than a few levels; :data:`MAX_JSON_DEPTH`
leaves room for evidence objects. The check costs two ``bytes.count`` calls on the usual body
(fewer openers than the limit cannot nest past it); only a body with more openers is walked
after parsing.
"""

from __future__ import annotations

import json
from typing import Any

from finpilot.core._errors import BadRequestError

MAX_JSON_DEPTH = 32
"""The deepest nesting of arrays and objects a request body may have (``[]`` is depth 1)."""

MAX_REQUEST_INT = 2**63 - 1
"""The largest integer a path or query parameter may hold: what SQLite and PostgreSQL (bigint) store.

A larger one used to reach the database and fail there (``OverflowError``, an HTTP 500); a
route declares ``le=MAX_REQUEST_INT`` and the client gets a 422 naming the parameter."""

_NOT_JSON_FIX = "send one JSON object encoded as UTF-8"


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


# One decoder, built once: ``json.loads(raw, parse_constant=...)`` builds a new one per call.
_DECODE = json.JSONDecoder(parse_constant=_no_constants).decode


def _too_deep(value: Any, limit: int) -> bool:
    # Iterative: the point is to never recurse per level of client-chosen depth.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body; :class:`BadRequestError` (400) when it is not JSON or nests too deep."""
    try:
        value = _DECODE(raw.decode("utf-8"))
    except RecursionError:
        value = None
        deep = True
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("the request body is not valid JSON", field="$", fix=_NOT_JSON_FIX) from None
    else:
        deep = (
            isinstance(value, dict | list)
            and raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
            and _too_deep(value, MAX_JSON_DEPTH)
        )
    if deep:
        raise BadRequestError(
            f"the request body nests arrays and objects more than {MAX_JSON_DEPTH} deep",
            field="$",
            fix=f"send a flatter JSON object (at most {MAX_JSON_DEPTH} levels)",
        )
    return value
