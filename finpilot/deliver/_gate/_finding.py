"""Findings: what a scanner reported, normalised, and the fingerprint that follows a finding across edits."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
"""Severities, worst first."""

SECURITY_SEVERITY = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 3.0, "info": 0.0}
"""GitHub's ``security-severity`` score for each severity (its bands: 9+ critical, 7+ high, 4+ medium)."""

SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
"""SARIF ``level`` for each severity."""

_CWE = re.compile(r"CWE-(\d+)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalise_cwe(value: Any) -> str | None:
    """``"CWE-89: SQL Injection"``, ``89``, ``["CWE-89: ..."]`` or ``{"id": 89}`` to ``"CWE-89"``; else ``None``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, int) and value > 0:
        return f"CWE-{value}"
    if isinstance(value, str):
        match = _CWE.search(value)
        if match:
            return f"CWE-{int(match.group(1))}"
        if value.isdigit() and int(value) > 0:
            return f"CWE-{int(value)}"
    return None


@dataclass(frozen=True)
class RawFinding:
    """One result as an adapter read it from its scanner (paths relative to the scanned root, POSIX)."""

    tool: str
    rule: str
    severity: str
    file: str
    line: int
    message: str
    cwe: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON for the per-tool cache."""
        return {
            "tool": self.tool,
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "cwe": self.cwe,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawFinding:
        """The inverse of :meth:`to_json`."""
        return cls(**data)


@dataclass(frozen=True)
class Finding:
    """A normalised finding: one per flaw, whichever tools reported it.

    ``rules`` holds every ``tool:rule`` that reported this flaw (several when tools agree on the
    same CWE, file and line); ``tool`` and ``rule`` are the first of them.
    """

    tool: str
    rule: str
    severity: str
    file: str
    line: int
    message: str
    cwe: str | None
    fingerprint: str
    rules: tuple[str, ...]
    baselined: bool = False
    waived_by: str | None = None
    action: str = "pass"
    pci: tuple[str, ...] = field(default=())
    gdpr: tuple[str, ...] = field(default=())

    @property
    def waived(self) -> bool:
        """Whether a live waiver covers this finding."""
        return self.waived_by is not None

    def with_(self, **changes: Any) -> Finding:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The finding as the ``--json`` output and the report show it (never the code it points at)."""
        return {
            "tool": self.tool,
            "rule": self.rule,
            "rules": list(self.rules),
            "cwe": self.cwe,
            "file": self.file,
            "line": self.line,
            "severity": self.severity,
            "message": self.message,
            "fingerprint": self.fingerprint,
            "action": self.action,
            "pci": list(self.pci),
            "gdpr": list(self.gdpr),
            "baselined": self.baselined,
            "waived": self.waived,
            "waiver": self.waived_by,
        }


def normalise_context(text: str) -> str:
    """The code around a finding with all whitespace runs collapsed, so re-indenting changes nothing."""
    return _SPACE.sub(" ", text).strip()


def fingerprint(rule: str, file: str, context: str, occurrence: int = 0) -> str:
    """The finding's stable id: a hash of its rule (``tool/rule``), its file and its code.

    The line number is left out, so a finding keeps its fingerprint when lines above it are added
    or removed; ``occurrence`` tells apart identical lines of one file (0 for the first). Printed
    as 32 hex digits (the audit ledger reads a hex digest of that length as a digest).
    """
    material = "\0".join((rule, file, normalise_context(context), str(occurrence)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]
