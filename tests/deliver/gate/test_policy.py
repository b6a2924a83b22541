"""The policy engine and the shipped policies: PCI DSS v4.0 and GDPR mapping, verdicts, the rollout example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from finpilot.core import InputError
from finpilot.policy import PolicyEngine, builtin_policies


def _finding(fp: str, cwe: str | None, severity: str = "high", tool: str = "semgrep", **kw: Any) -> dict[str, Any]:
    return {
        "fingerprint": fp, "tool": tool, "rule": f"r-{fp}", "cwe": cwe, "severity": severity, "file": "a.py",
        "line": 1, "waived": False, "baselined": False, **kw,
    }  # fmt: skip


@pytest.fixture(scope="module")
def gate() -> PolicyEngine:
    return PolicyEngine.load("gate")


@pytest.mark.parametrize(
    ("cwe", "tool", "pci", "gdpr"),
    [
        ("CWE-89", "semgrep", {"6.2.4"}, {"Art. 32"}),
        ("CWE-798", "semgrep", {"8.3.1", "8.6.2"}, {"Art. 32"}),
        ("CWE-321", "semgrep", {"3.5.1", "3.6.1"}, {"Art. 32"}),
        ("CWE-532", "semgrep", {"3.5.1", "10.3.1"}, {"Art. 25", "Art. 32"}),
        ("CWE-295", "bandit", {"4.2.1"}, {"Art. 32"}),
        ("CWE-681", "semgrep", {"6.2.4"}, set()),
        ("CWE-1395", "deps", {"6.3.1", "6.3.3"}, {"Art. 32"}),
        ("CWE-16", "checkov", {"2.2.1"}, {"Art. 32"}),
        (None, "semgrep", {"6.2.4"}, set()),
    ],
)
def test_findings_map_to_pci_dss_and_gdpr(
    gate: PolicyEngine, cwe: str | None, tool: str, pci: set[str], gdpr: set[str]
) -> None:
    decision = gate.evaluate({"findings": [_finding("a", cwe, tool=tool)], "waivers_expired": []})
    mapped = decision.details["findings"]["a"]
    assert pci <= set(mapped["pci"])
    assert set(mapped["gdpr"]) == gdpr


@pytest.mark.parametrize(
    ("findings", "verdict"),
    [
        ([], "pass"),
        ([_finding("a", None, "low")], "pass"),
        ([_finding("a", None, "medium")], "warn"),
        ([_finding("a", None, "high")], "fail"),
        ([_finding("a", "CWE-532", "low")], "fail"),  # a logged PAN fails whatever the scanner's severity
        ([_finding("a", "CWE-681", "info")], "fail"),  # money as a float
        ([_finding("a", "CWE-89", "critical", waived=True)], "pass"),
        ([_finding("a", "CWE-89", "critical", baselined=True)], "pass"),
        ([_finding("a", None, "medium"), _finding("b", "CWE-89")], "fail"),
    ],
)
def test_the_gate_verdict(gate: PolicyEngine, findings: list[dict[str, Any]], verdict: str) -> None:
    assert gate.evaluate({"findings": findings, "waivers_expired": []}).verdict == verdict


def test_an_expired_waiver_fails_and_is_named(gate: PolicyEngine) -> None:
    decision = gate.evaluate({"findings": [], "waivers_expired": [{"id": "W-7", "expires": "2026-01-31"}]})
    assert decision.verdict == "fail"
    assert decision.reasons == ("waiver W-7 expired on 2026-01-31",)
    assert decision.policy_id == "finpilot.gate"
    assert decision.policy_digest.startswith("sha256:")


@pytest.mark.parametrize(
    ("judgement", "step", "in_a_row", "verdict"),
    [("pass", 1, 0, "advance"), ("pass", 3, 0, "promote"), ("fail", 0, 0, "rollback"), ("inconclusive", 1, 0, "hold"),
     ("inconclusive", 1, 2, "rollback")],
)  # fmt: skip
def test_the_rollout_policy_maps_a_judgement_to_an_action(
    judgement: str, step: int, in_a_row: int, verdict: str
) -> None:
    data = {"judgement": judgement, "step": step, "steps": 4, "inconclusive_in_a_row": in_a_row, "max_inconclusive": 2}
    assert PolicyEngine.load("rollout").evaluate(data).verdict == verdict


def test_builtin_policies_are_listed() -> None:
    assert {"gate", "rollout"} <= set(builtin_policies())


def test_an_unknown_policy_or_a_broken_one_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no built-in policy"):
        PolicyEngine.load("nope")
    bad = tmp_path / "bad.rego"
    bad.write_text("package finpilot.gate\n\ndecision := {")
    with pytest.raises(InputError, match="does not compile"):
        PolicyEngine.from_file(bad, "gate")


def test_a_policy_without_a_decision_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "odd.rego"
    odd.write_text('package finpilot.odd\n\ndecision := {"verdict": 1}\n')
    with pytest.raises(InputError, match="gave no decision"):
        PolicyEngine.from_file(odd, "odd").evaluate({})


def test_a_custom_policy_file_decides(tmp_path: Path) -> None:
    own = tmp_path / "heal.rego"
    own.write_text(
        "package finpilot.heal\n\nimport rego.v1\n\n"
        'verdict := "restart" if { input.failures >= 3 } else := "wait"\n'
        'decision := {"verdict": verdict, "reasons": [sprintf("%d failures", [input.failures])]}\n'
    )
    engine = PolicyEngine.from_file(own, "heal")
    assert engine.evaluate({"failures": 3}).verdict == "restart"
    assert engine.evaluate({"failures": 1}).reasons == ("1 failures",)
