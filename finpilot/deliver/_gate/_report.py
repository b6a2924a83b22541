"""The gate's result, and the reports made from it: JSON, JUnit XML and Markdown."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET  # nosec B405 - only writes the JUnit summary, never parses input

from finpilot.deliver._gate._finding import SEVERITIES, Finding


@dataclass(frozen=True)
class ScannerRun:
    """One scanner's part in a gate run."""

    name: str
    version: str
    findings: int
    cached: bool
    seconds: float
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As in ``--json``."""
        return {
            "name": self.name,
            "version": self.version,
            "findings": self.findings,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
            "source": self.source,
        }


@dataclass(frozen=True)
class GateResult:
    """What one gate run found and decided."""

    verdict: str
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...]
    scanners: tuple[ScannerRun, ...]
    policy_id: str
    policy_digest: str
    waivers_applied: tuple[str, ...]
    waivers_expired: tuple[str, ...]
    duration_s: float
    root: str

    @property
    def passed(self) -> bool:
        """Whether the gate lets the release through (``pass`` or ``warn``)."""
        return self.verdict != "fail"

    def counts(self) -> dict[str, int]:
        """Findings per severity (every severity present, zero included), waived and baselined ones too."""
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def advisory_source(self) -> str | None:
        """Which advisory source the dependency audit used, if it ran."""
        return next((s.source for s in self.scanners if s.name == "deps"), None)

    def to_json(self) -> dict[str, Any]:
        """The one object ``gate run --json`` prints."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "counts": self.counts(),
            "failing": sum(1 for f in self.findings if f.action == "fail"),
            "findings": [f.to_json() for f in self.findings],
            "scanners": [s.to_json() for s in self.scanners],
            "advisory_source": self.advisory_source(),
            "policy": {"id": self.policy_id, "digest": self.policy_digest},
            "waivers": {"applied": list(self.waivers_applied), "expired": list(self.waivers_expired)},
            "duration_s": round(self.duration_s, 3),
            "root": self.root,
        }


def junit_xml(result: GateResult) -> bytes:
    """JUnit XML: one test case per finding (a failure when it fails the gate), one per expired waiver."""
    cases = ET.Element("testsuite", name="finpilot gate", tests="0", failures="0")
    failures = 0
    for f in result.findings:
        case = ET.SubElement(
            cases, "testcase", classname=f"gate.{f.tool}", name=f"{f.rule} {f.file}:{f.line} [{f.fingerprint[:12]}]"
        )
        if f.action == "fail":
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{f.severity} {f.cwe or ''} PCI {', '.join(f.pci)}")
            failure.text = f.message
        elif f.waived or f.baselined:
            ET.SubElement(case, "skipped", message=f"waived by {f.waived_by}" if f.waived else "in the baseline")
    for w in result.waivers_expired:
        case = ET.SubElement(cases, "testcase", classname="gate.waivers", name=f"waiver {w}")
        ET.SubElement(case, "failure", message=f"waiver {w} has expired")
        failures += 1
    cases.set("tests", str(len(cases)))
    cases.set("failures", str(failures))
    suites = ET.Element("testsuites")
    suites.append(cases)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: GateResult) -> str:
    """A readable report: verdict, reasons, counts, scanners, findings with their PCI DSS requirements."""
    lines = [f"# Security gate: {result.verdict.upper()}", ""]
    lines += [f"- {_cell(r)}" for r in result.reasons] or ["- no finding fails or warns"]
    lines += ["", "| severity | findings |", "|---|---|"]
    lines += [f"| {s} | {n} |" for s, n in result.counts().items()]
    lines += ["", "| scanner | version | findings | cached | source |", "|---|---|---|---|---|"]
    for s in result.scanners:
        lines.append(f"| {s.name} | {_cell(s.version)} | {s.findings} | {s.cached} | {_cell(s.source or '')} |")
    lines += ["", "| action | severity | tool:rule | CWE | where | PCI DSS | GDPR | fingerprint |", "|---|" * 8]
    lines[-1] = "|---|---|---|---|---|---|---|---|"
    for f in result.findings:
        state = f.action + (" (waived)" if f.waived else " (baseline)" if f.baselined else "")
        lines.append(
            f"| {state} | {f.severity} | {_cell(', '.join(f.rules))} | {f.cwe or ''} | {_cell(f.file)}:{f.line} "
            f"| {', '.join(f.pci)} | {', '.join(f.gdpr)} | `{f.fingerprint}` |"
        )
    lines += ["", f"Policy {result.policy_id} ({result.policy_digest}); {result.duration_s:.1f} s.", ""]
    return "\n".join(lines)
