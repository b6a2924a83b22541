"""Bandit: Python's AST security linter (``bandit -f json``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from finpilot.deliver._gate._finding import RawFinding, normalise_cwe
from finpilot.deliver._gate._parse import expect, read_json
from finpilot.deliver._gate._scanner import Scanner, ScanOutcome, ScanTarget, find_program, run_program

_SEVERITY = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNDEFINED": "info"}


class BanditScanner(Scanner):
    """Runs bandit over the root's Python files, with the root's ``[tool.bandit]`` settings when it has them."""

    name = "bandit"
    program = "bandit"

    def __init__(self, root: Path) -> None:
        """``root``'s pyproject.toml supplies bandit's skips, as it does when bandit runs alone."""
        pyproject = root / "pyproject.toml"
        self._config = pyproject if pyproject.is_file() and "[tool.bandit]" in pyproject.read_text("utf-8") else None

    def select(self, files: Sequence[str]) -> list[str]:
        """Python sources."""
        return [f for f in files if f.endswith(".py")]

    def settings_digest(self) -> str:
        """The digest of the pyproject.toml that configures bandit, if any."""
        return hashlib.sha256(self._config.read_bytes()).hexdigest() if self._config else ""

    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """``bandit -f json -o OUT FILES`` (exit 1 means findings, not a failure)."""
        if not target.files:
            return ScanOutcome(())
        out = target.out_dir / "bandit.json"
        argv = [find_program(self.program), "-f", "json", "-q", "-o", str(out)]
        if self._config is not None:
            argv += ["-c", str(self._config)]
        run_program(
            self.name, [*argv, *target.files], timeout_s=timeout_s, ok_codes=(0, 1), cwd=target.root, output=out
        )
        data = read_json(self.name, out)
        expect(self.name, out, isinstance(data, dict) and isinstance(data.get("results"), list), "no results list")
        findings = []
        for r in data["results"]:
            findings.append(
                RawFinding(
                    tool=self.name,
                    rule=f"{r['test_id']}-{r['test_name']}",
                    severity=_SEVERITY.get(str(r.get("issue_severity", "")).upper(), "medium"),
                    file=str(r["filename"]).removeprefix("./"),
                    line=int(r["line_number"]),
                    message=str(r.get("issue_text", "")),
                    cwe=normalise_cwe(r.get("issue_cwe")),
                )
            )
        return ScanOutcome(tuple(findings))
