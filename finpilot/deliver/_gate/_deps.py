"""Vulnerable dependencies: pip-audit when its advisory service answers, else a local advisory snapshot.

The packages audited are the pinned ones (``name==version``) of the root's ``requirements*.txt``
files. The service is probed first with a short timeout; when it does not answer, the snapshot
configured as ``deps.advisories`` is used instead (a JSON file, see ``docs/deliver-gates.md``),
and the outcome says which source answered. With neither, the scan is an error, never a pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from finpilot.core import InputError, http_client
from finpilot.deliver._gate._finding import RawFinding, normalise_cwe
from finpilot.deliver._gate._parse import expect, read_json
from finpilot.deliver._gate._scanner import Scanner, ScanOutcome, ScanTarget, find_program, run_program

DEFAULT_PROBE_URL = "https://pypi.org/pypi/pip/json"
"""What the probe asks: PyPI's JSON API is pip-audit's default vulnerability service."""

VULN_CWE = "CWE-1395"
"""Dependency on a vulnerable third-party component."""

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([A-Za-z0-9.+!_-]+)")


def pinned(text: str) -> list[tuple[str, str, int]]:
    """``(name, version, line)`` for every ``name==version`` line of a requirements file."""
    return [(m.group(1), m.group(2), i) for i, line in enumerate(text.splitlines(), 1) if (m := _PIN.match(line))]


def service_reachable(url: str, timeout_s: float) -> bool:
    """Whether the advisory service answers at all within ``timeout_s``."""
    try:
        with http_client(timeout_s=timeout_s) as client:
            client.head(url)
    except (httpx.HTTPError, OSError):
        return False
    return True


class DepsScanner(Scanner):
    """Audits the pinned requirements against pip-audit's service or a local snapshot."""

    name = "deps"
    program = "pip-audit"

    def __init__(self, *, advisories: Path | None, probe_url: str, probe_timeout_s: float) -> None:
        """``advisories``: the snapshot used when ``probe_url`` does not answer within ``probe_timeout_s``."""
        self.advisories = advisories
        self.probe_url = probe_url
        self.probe_timeout_s = probe_timeout_s
        self._online: bool | None = None

    def online(self) -> bool:
        """Whether the service answered (probed once)."""
        if self._online is None:
            self._online = service_reachable(self.probe_url, self.probe_timeout_s)
        return self._online

    def select(self, files: Sequence[str]) -> list[str]:
        """The requirements files."""
        return [f for f in files if PurePosixPath(f).name.startswith("requirements") and f.endswith(".txt")]

    def settings_digest(self) -> str:
        """Which source answers (a snapshot's digest, or ``online``: never cached across a day)."""
        if self.online():
            # The service's advisories change daily: an online answer is reused for the day only.
            return f"online:{dt.datetime.now(dt.UTC).date().isoformat()}"
        if self.advisories is None or not self.advisories.is_file():
            return "none"  # an error only if there is something to audit (see scan)
        return "snapshot:" + hashlib.sha256(self.advisories.read_bytes()).hexdigest()

    def version(self, timeout_s: float = 120) -> str:
        """pip-audit's version online; the snapshot's own label offline."""
        if self.online():
            return super().version(timeout_s)
        return "advisory snapshot"

    def source(self) -> str:
        """The advisory source in words, for the report."""
        if self.online():
            return f"pip-audit ({self.probe_url})"
        if self.settings_digest() == "none":
            return "none (no pinned requirements to audit)"
        digest = self.settings_digest().removeprefix("snapshot:")
        return f"snapshot {self.advisories} (sha256:{digest})"

    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """Audit every pinned requirement."""
        if target.files and self.settings_digest() == "none":
            raise InputError(
                "the dependency advisory service is unreachable and no advisory snapshot is configured",
                field="deps.advisories",
                fix="set deps.advisories in the gate config to a snapshot JSON file, or disable the deps scanner",
            )
        findings: list[RawFinding] = []
        for req in target.files:
            if self.online():
                findings += self._pip_audit(target, req, timeout_s)
            else:
                findings += self._snapshot(target, req)
        return ScanOutcome(tuple(findings), source=self.source())

    def _pip_audit(self, target: ScanTarget, req: str, timeout_s: float) -> list[RawFinding]:
        out = target.out_dir / f"pip-audit-{hashlib.sha256(req.encode()).hexdigest()[:12]}.json"
        argv = [find_program(self.program), "-r", req, "--no-deps", "--disable-pip", "--format", "json",
                "--progress-spinner", "off", "--output", str(out)]  # fmt: skip
        run_program("pip-audit", argv, timeout_s=timeout_s, ok_codes=(0, 1), cwd=target.root, output=out)
        data = read_json("pip-audit", out)
        expect("pip-audit", out, isinstance(data, dict) and isinstance(data.get("dependencies"), list), "no list")
        lines = {canonicalize_name(n): line for n, _, line in pinned((target.root / req).read_text("utf-8"))}
        found = []
        for dep in data["dependencies"]:
            for vuln in dep.get("vulns", []):
                fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
                found.append(
                    RawFinding(
                        tool=self.name,
                        rule=str(vuln["id"]),
                        severity="high",
                        file=req,
                        line=lines.get(canonicalize_name(dep["name"]), 1),
                        message=f"{dep['name']} {dep.get('version', '')} is vulnerable ({vuln['id']}); fix: {fixes}",
                        cwe=VULN_CWE,
                    )
                )
        return found

    def _snapshot(self, target: ScanTarget, req: str) -> list[RawFinding]:
        assert self.advisories is not None  # settings_digest checked it
        data = read_json("deps (advisory snapshot)", self.advisories)
        advisories: list[dict[str, Any]] = data.get("advisories", []) if isinstance(data, dict) else []
        expect("deps (advisory snapshot)", self.advisories, isinstance(advisories, list), "no advisories list")
        by_name: dict[str, list[dict[str, Any]]] = {}
        for adv in advisories:
            by_name.setdefault(canonicalize_name(str(adv.get("package", ""))), []).append(adv)
        found = []
        for name, version, line in pinned((target.root / req).read_text("utf-8")):
            for adv in by_name.get(canonicalize_name(name), []):
                if _affected(version, adv):
                    fixes = ", ".join(adv.get("fix_versions", [])) or "none yet"
                    found.append(
                        RawFinding(
                            tool=self.name,
                            rule=str(adv["id"]),
                            severity=str(adv.get("severity", "high")).lower(),
                            file=req,
                            line=line,
                            message=f"{name} {version} is vulnerable ({adv['id']}); fixed in {fixes}",
                            cwe=normalise_cwe(adv.get("cwe")) or VULN_CWE,
                        )
                    )
        return found


def _affected(version: str, advisory: dict[str, Any]) -> bool:
    try:
        return Version(version) in SpecifierSet(str(advisory.get("affected", "")))
    except (InvalidSpecifier, InvalidVersion):
        return False


def snapshot_json(advisories: list[dict[str, Any]]) -> str:
    """A snapshot file's text (tests and docs build one with this)."""
    return json.dumps({"advisories": advisories}, indent=2)
