"""The merged SARIF file: the structure GitHub code scanning requires, CWE tags, fingerprints, dedup."""

from __future__ import annotations

import json
import re

from finpilot.deliver import GateResult, to_sarif


def test_sarif_has_the_structure_github_code_scanning_requires(full_run: GateResult) -> None:
    # No SARIF schema ships in any installed package, so this checks what GitHub documents as
    # required: version, $schema, runs[].tool.driver.{name,rules}, results[].{ruleId, message,
    # locations[].physicalLocation.{artifactLocation.uri, region.startLine}}.
    log = json.loads(json.dumps(to_sarif(full_run, baseline_used=False)))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "finpilot-gate"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert {e["name"] for e in run["tool"]["extensions"]} == {"bandit", "semgrep", "detect-secrets", "checkov", "deps"}
    assert len(run["results"]) == len(full_run.findings) > 0
    for res in run["results"]:
        assert res["ruleId"] in rule_ids
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["message"]["text"]
        assert res["level"] in ("error", "warning", "note")
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert isinstance(loc["region"]["startLine"], int)
        assert loc["region"]["startLine"] >= 1
        assert re.fullmatch(r"[0-9a-f]{32}", res["partialFingerprints"]["finpilot/v1"])
        assert 0.0 <= float(res["properties"]["security-severity"]) <= 10.0
    for rule in driver["rules"]:
        assert "security" in rule["properties"]["tags"]
        assert float(rule["properties"]["security-severity"]) >= 0


def test_rules_carry_cwe_tags(full_run: GateResult) -> None:
    log = to_sarif(full_run, baseline_used=False)
    tags = {r["id"]: r["properties"]["tags"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert "external/cwe/cwe-89" in tags["bandit/B608-hardcoded_sql_expressions"]
    assert "external/cwe/cwe-295" in tags["bandit/B501-request_with_no_cert_validation"]


def test_the_same_flaw_from_two_tools_is_one_result_with_both_rule_ids(full_run: GateResult) -> None:
    sql = [f for f in full_run.findings if f.cwe == "CWE-89" and f.file == "src/app.py" and f.line == 11]
    assert len(sql) == 1
    assert set(sql[0].rules) == {"bandit:B608-hardcoded_sql_expressions", "semgrep:sql-string-concat"}
    # The worst severity of the two wins (semgrep's ERROR is high; bandit says medium).
    assert sql[0].severity == "high"
    (res,) = [
        r for r in to_sarif(full_run, baseline_used=False)["runs"][0]["results"]
        if r["partialFingerprints"]["finpilot/v1"] == sql[0].fingerprint
    ]  # fmt: skip
    assert set(res["properties"]["rules"]) == set(sql[0].rules)
