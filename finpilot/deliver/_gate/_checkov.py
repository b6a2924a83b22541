"""Checkov: misconfigured Kubernetes manifests, Dockerfiles and Terraform (offline: ``--skip-download``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from finpilot.deliver._gate._finding import RawFinding
from finpilot.deliver._gate._parse import expect, read_json
from finpilot.deliver._gate._scanner import Scanner, ScanOutcome, ScanTarget, find_program, run_program

FRAMEWORKS = ("kubernetes", "dockerfile", "terraform")
"""The checkov frameworks the gate runs."""

_SEVERITY = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low", "INFO": "info"}
CONFIG_CWE = "CWE-16"
"""Checkov names no CWE; its findings are configuration flaws."""


class CheckovScanner(Scanner):
    """Runs checkov over the root's YAML manifests (``finpilot k8s render`` output too), Dockerfiles and .tf."""

    name = "checkov"
    program = "checkov"

    def select(self, files: Sequence[str]) -> list[str]:
        """YAML, Dockerfiles and Terraform."""
        picked = []
        for f in files:
            name = PurePosixPath(f).name
            if f.endswith((".yaml", ".yml", ".tf")) or name == "Dockerfile" or name.startswith("Dockerfile."):
                picked.append(f)
        return picked

    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """``checkov -f FILE... --framework ... -o json`` (exit 1 means failed checks, not a failure)."""
        if not target.files:
            return ScanOutcome(())
        out = target.out_dir / "checkov.json"
        argv = [find_program(self.program)]
        for f in target.files:
            argv += ["-f", f]
        argv += ["--framework", *FRAMEWORKS, "--skip-download", "-o", "json", "--quiet", "--compact"]
        proc = run_program(self.name, argv, timeout_s=timeout_s, ok_codes=(0, 1), cwd=target.root, output=out)
        out.write_text(proc.stdout, encoding="utf-8")
        data = read_json(self.name, out, proc.stdout)
        reports = data if isinstance(data, list) else [data]
        findings = []
        for report in reports:
            expect(self.name, out, isinstance(report, dict), "a report that is not an object")
            if "results" not in report:
                continue  # checkov's summary-only answer when no file was of its frameworks
            for c in report["results"].get("failed_checks", []):
                lines = c.get("file_line_range") or [1, 1]
                findings.append(
                    RawFinding(
                        tool=self.name,
                        rule=str(c["check_id"]),
                        severity=_SEVERITY.get(str(c.get("severity") or "").upper(), "medium"),
                        file=str(c.get("file_path", "")).lstrip("/"),
                        line=max(1, int(lines[0])),
                        message=str(c.get("check_name", "")),
                        cwe=CONFIG_CWE,
                    )
                )
        return ScanOutcome(tuple(findings))
