"""detect-secrets: hard-coded credentials and keys (``detect-secrets scan``, its baseline JSON on stdout)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from finpilot.deliver._gate._finding import RawFinding
from finpilot.deliver._gate._parse import expect, read_json
from finpilot.deliver._gate._scanner import Scanner, ScanOutcome, ScanTarget, find_program, run_program

BASELINE_NAME = ".secrets.baseline"
"""A detect-secrets baseline at the root: the secrets it lists (reviewed already) are not reported."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class SecretsScanner(Scanner):
    """Runs ``detect-secrets scan`` over every file; the secret itself never leaves the tool (only its line)."""

    name = "detect-secrets"
    program = "detect-secrets"

    def __init__(self, root: Path) -> None:
        """The root's ``.secrets.baseline``, if any, lists accepted secrets by hash."""
        self._baseline = root / BASELINE_NAME

    def select(self, files: Sequence[str]) -> list[str]:
        """Every file except the detect-secrets baseline itself."""
        return [f for f in files if f != BASELINE_NAME]

    def settings_digest(self) -> str:
        """The digest of the root's detect-secrets baseline."""
        return hashlib.sha256(self._baseline.read_bytes()).hexdigest() if self._baseline.is_file() else ""

    def _accepted(self) -> set[tuple[str, str]]:
        if not self._baseline.is_file():
            return set()
        try:
            data = json.loads(self._baseline.read_text("utf-8"))
        except ValueError:
            return set()
        return {
            (str(s.get("filename")), str(s.get("hashed_secret")))
            for secrets in (data.get("results") or {}).values()
            for s in secrets
        }

    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """Scan; a secret already in the root's baseline (same file, same hash) is left out."""
        if not target.files:
            return ScanOutcome(())
        out = target.out_dir / "detect-secrets.json"
        proc = run_program(
            self.name, [find_program(self.program), "scan", *target.files], timeout_s=timeout_s, ok_codes=(0,),
            cwd=target.root, output=out,
        )  # fmt: skip
        out.write_text(proc.stdout, encoding="utf-8")
        data = read_json(self.name, out, proc.stdout)
        expect(self.name, out, isinstance(data, dict) and isinstance(data.get("results"), dict), "no results map")
        accepted = self._accepted()
        findings = []
        for file, secrets in data["results"].items():
            for s in secrets:
                if (str(file), str(s.get("hashed_secret"))) in accepted:
                    continue
                kind = str(s.get("type", "secret"))
                findings.append(
                    RawFinding(
                        tool=self.name,
                        rule=_slug(kind),
                        severity="high",
                        file=str(file).removeprefix("./"),
                        line=int(s["line_number"]),
                        message=f"{kind}: a hard-coded secret (the value is not shown)",
                        cwe="CWE-798",
                    )
                )
        return ScanOutcome(tuple(findings))
