"""One SARIF 2.1.0 file for all scanners, in the shape GitHub code scanning accepts.

One merged run, with finpilot as the driver and each scanner as an extension: findings that
several tools agree on (same CWE, file and line) are one result there, so one run is the only
place such a result can live; the tools that reported it are kept in ``properties.rules``, and
each scanner's version is its extension's. Rule ids are ``tool/rule``. Suppressed findings
(waived or in the baseline) stay in the file with a ``suppressions`` entry, so code scanning
shows them as dismissed rather than losing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finpilot import __version__
from finpilot.deliver._gate._baseline import FINGERPRINT_KEY
from finpilot.deliver._gate._finding import SARIF_LEVEL, SECURITY_SEVERITY, Finding
from finpilot.deliver._gate._report import GateResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
"""The schema URI GitHub's documentation shows."""


def _rule_id(f: Finding) -> str:
    return f"{f.tool}/{f.rule}"


def _tags(f: Finding) -> list[str]:
    tags = ["security"]
    if f.cwe:
        tags.append(f"external/cwe/{f.cwe.lower()}")
    return tags


def to_sarif(result: GateResult, *, baseline_used: bool) -> dict[str, Any]:
    """The gate result as a SARIF 2.1.0 log."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in result.findings:
        rid = _rule_id(f)
        rule = rules.setdefault(
            rid,
            {
                "id": rid,
                "name": f.rule,
                "shortDescription": {"text": f"{f.tool} {f.rule}" + (f" ({f.cwe})" if f.cwe else "")},
                "properties": {"tags": _tags(f), "security-severity": "0.0", "precision": "high"},
            },
        )
        score = max(float(rule["properties"]["security-severity"]), SECURITY_SEVERITY[f.severity])
        rule["properties"]["security-severity"] = f"{score:.1f}"
        res: dict[str, Any] = {
            "ruleId": rid,
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message or f.rule},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line},
                    }
                }
            ],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
            "properties": {
                "security-severity": f"{SECURITY_SEVERITY[f.severity]:.1f}",
                "severity": f.severity,
                "cwe": f.cwe,
                "rules": list(f.rules),
                "action": f.action,
                "pci-dss": list(f.pci),
                "gdpr": list(f.gdpr),
            },
        }
        if baseline_used:
            res["baselineState"] = "unchanged" if f.baselined else "new"
        if f.waived:
            res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f"waiver {f.waived_by}"}]
        elif f.baselined:
            res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": "in the baseline"}]
        results.append(res)
    ordered = sorted(rules)
    index = {rid: i for i, rid in enumerate(ordered)}
    for res in results:
        res["ruleIndex"] = index[res["ruleId"]]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "finpilot-gate",
                        "version": __version__,
                        "rules": [rules[r] for r in ordered],
                    },
                    "extensions": [{"name": s.name, "version": s.version} for s in result.scanners],
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(result.root).as_uri().rstrip("/") + "/"}},
                "results": results,
                "properties": {
                    "verdict": result.verdict,
                    "policy": result.policy_id,
                    "policyDigest": result.policy_digest,
                },
            }
        ],
    }
