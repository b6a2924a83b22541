"""Semgrep with finpilot's fintech rule pack, offline (no metrics, no version check, no registry)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from finpilot.core import InputError
from finpilot.deliver._gate._finding import RawFinding, normalise_cwe
from finpilot.deliver._gate._parse import expect, read_json
from finpilot.deliver._gate._scanner import Scanner, ScanOutcome, ScanTarget, find_program, run_program
from finpilot.deliver._rules import RULE_PREFIX, canonical_rule_id, semgrep_rule_dir

RULE_PACK = semgrep_rule_dir()
"""The rule pack shipped with finpilot (package data)."""

_SEVERITY = {
    "CRITICAL": "critical",
    "ERROR": "high",
    "HIGH": "high",
    "WARNING": "medium",
    "MEDIUM": "medium",
    "INFO": "low",
    "LOW": "low",
}
_SUFFIXES = (".py", ".js", ".ts", ".go", ".java", ".yaml", ".yml", ".json", ".tf", ".sh", ".html")


def rule_files(rules: Path) -> list[Path]:
    """The rule files of a pack (a directory of YAML files, or one file)."""
    if rules.is_file():
        return [rules]
    return sorted(p for p in rules.glob("*.y*ml") if p.is_file()) if rules.is_dir() else []


def _rule_id(check_id: str) -> str:
    # semgrep prefixes a rule id with its config file's dotted path, which moves with the install:
    # the pack's own ids are kept whole (finpilot.sqli.tainted-sql), others lose the prefix.
    rule = canonical_rule_id(check_id)
    return rule if rule.startswith(RULE_PREFIX) else rule.rsplit(".", 1)[-1]


class SemgrepScanner(Scanner):
    """Runs ``semgrep scan --json`` with one rule pack over the root's source files."""

    name = "semgrep"
    program = "semgrep"

    def __init__(self, rules: Path | None = None) -> None:
        """``rules``: a directory of rule YAML files or one file; default finpilot's own pack."""
        self.rules = rules or RULE_PACK
        self._files = rule_files(self.rules)
        if not self._files:
            raise InputError(
                f"the semgrep rule pack {self.rules} holds no rules",
                field="semgrep.rules",
                fix="set semgrep.rules in the gate config to a directory of semgrep rule files",
            )

    def select(self, files: Sequence[str]) -> list[str]:
        """Source and config files of the languages the rules can target."""
        return [f for f in files if f.endswith(_SUFFIXES)]

    def settings_digest(self) -> str:
        """The digest of every rule file, so an edited rule re-runs the scan."""
        h = hashlib.sha256()
        for p in self._files:
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()

    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """Scan the selected files; semgrep's own errors on a rule or a file fail the scan."""
        if not target.files:
            return ScanOutcome(())
        out = target.out_dir / "semgrep.json"
        argv = [
            find_program(self.program), "scan", "--config", str(self.rules), "--json", "--output", str(out),
            "--metrics=off", "--disable-version-check", "--quiet", "--no-git-ignore", "--timeout", "30",
        ]  # fmt: skip
        run_program(self.name, [*argv, *target.files], timeout_s=timeout_s, ok_codes=(0,), cwd=target.root, output=out)
        data = read_json(self.name, out)
        expect(self.name, out, isinstance(data, dict) and isinstance(data.get("results"), list), "no results list")
        fatal = [e for e in data.get("errors", []) if str(e.get("level", "")).lower() == "error"]
        expect(self.name, out, not fatal, f"{len(fatal)} errors, first: {str(fatal[0].get('message', ''))[:200]}"
               if fatal else "")  # fmt: skip
        findings = []
        for r in data["results"]:
            extra = r.get("extra", {})
            meta = extra.get("metadata", {})
            findings.append(
                RawFinding(
                    tool=self.name,
                    rule=_rule_id(str(r["check_id"])),
                    severity=_SEVERITY.get(str(extra.get("severity", "")).upper(), "medium"),
                    file=str(r["path"]).removeprefix("./"),
                    line=int(r["start"]["line"]),
                    message=str(extra.get("message", "")).strip(),
                    cwe=normalise_cwe(meta.get("cwe")),
                )
            )
        return ScanOutcome(tuple(findings))
