"""Baselines: the fingerprints of findings already known, so that only new ones fail.

A baseline is either a SARIF file an earlier ``gate run --sarif`` wrote (its results'
``partialFingerprints``), or ``{"fingerprints": [...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from finpilot.core import InputError

FINGERPRINT_KEY = "finpilot/v1"
"""The key of finpilot's fingerprint in a SARIF result's ``partialFingerprints``."""


def load_baseline(path: Path) -> frozenset[str]:
    """The fingerprints in a baseline file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(
            f"cannot read baseline {path}: {err}", field="--baseline", fix="name an earlier gate SARIF file"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("runs"), list):
        return frozenset(
            str(r["partialFingerprints"][FINGERPRINT_KEY])
            for run in data["runs"]
            for r in run.get("results", [])
            if FINGERPRINT_KEY in r.get("partialFingerprints", {})
        )
    if isinstance(data, dict) and isinstance(data.get("fingerprints"), list):
        return frozenset(str(f) for f in data["fingerprints"])
    raise InputError(
        f'baseline {path} is neither a gate SARIF file nor {{"fingerprints": [...]}}',
        field="--baseline",
        fix="use the SARIF file of an earlier gate run",
    )
