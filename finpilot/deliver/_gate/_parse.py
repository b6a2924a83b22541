"""Reading a scanner's output file: a file that is missing, empty, truncated or not the expected JSON is an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finpilot.deliver._gate._errors import ScannerError


def read_json(scanner: str, path: Path, text: str | None = None) -> Any:
    """The JSON ``scanner`` wrote to ``path`` (or printed, as ``text``); ``ScannerError`` naming both if unusable."""
    try:
        raw = text if text is not None else path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ScannerError(
            f"scanner {scanner} wrote no output file {path} ({err.strerror})",
            field="scanners",
            fix=f"run {scanner} by hand to see why",
        ) from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise ScannerError(
            f"scanner {scanner} wrote output that does not parse as JSON in {path} ({err.msg} at char {err.pos});"
            " it may have crashed",
            field="scanners",
            fix=f"run {scanner} by hand to see why",
        ) from None


def expect(scanner: str, path: Path, ok: bool, what: str) -> None:
    """``ScannerError`` unless ``ok``: the output parsed but is not the shape ``scanner`` writes."""
    if not ok:
        raise ScannerError(
            f"scanner {scanner} wrote unexpected output in {path}: {what}",
            field="scanners",
            fix=f"check the installed {scanner} version against `pip install 'finpilot[gates]'`",
        )
