"""The pack's shape: every rule declares what the gate and the auditors read from it, and the corpus is complete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from finpilot.deliver._rules import canonical_rule_id, semgrep_rule_dir

ROOT = Path(__file__).resolve().parents[3]
_CWE = re.compile(r"^CWE-\d+: \S.*$")
_ID = re.compile(r"^finpilot\.[a-z]+\.[a-z0-9-]+$")
_EXPECT = re.compile(r"^# expect: CWE-\d+ (vulnerable|safe)$")


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted(semgrep_rule_dir().glob("*.yaml")):
        rules.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    return rules


RULES = _rules()


def test_the_pack_ships_as_package_data() -> None:
    """The rule directory is inside the package and pyproject ships its YAML files."""
    assert semgrep_rule_dir().is_dir()
    assert len(RULES) >= 25
    assert '"finpilot.deliver" = ["_rules/semgrep/*.yaml"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_rule_declares_its_metadata(rule: dict[str, Any]) -> None:
    """Namespaced id, a message, a severity, languages, CWE with its name, category, confidence, PCI DSS, references."""
    assert _ID.match(rule["id"]), rule["id"]
    assert len(rule["message"]) > 40
    assert rule["severity"] in {"ERROR", "WARNING", "INFO"}
    assert rule["languages"]
    meta = rule["metadata"]
    assert meta["cwe"]
    assert all(_CWE.match(c) for c in meta["cwe"]), meta["cwe"]
    assert meta["category"] == "security"
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert meta["pci_dss"]
    assert all(re.fullmatch(r"\d+\.\d+(\.\d+)*", p) for p in meta["pci_dss"])
    assert meta["references"]
    assert all(r.startswith("https://") for r in meta["references"])


def test_rule_ids_are_unique() -> None:
    """Baselines and waivers key on the id."""
    ids = [r["id"] for r in RULES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("home.ci.finpilot.deliver._rules.semgrep.finpilot.sqli.tainted-sql", "finpilot.sqli.tainted-sql"),
        ("finpilot.tls.verification-disabled", "finpilot.tls.verification-disabled"),
        ("python.lang.security.audit.eval", "python.lang.security.audit.eval"),
        ("a.finpilot.b", "a.finpilot.b"),
    ],
)
def test_canonical_rule_id(check_id: str, expected: str) -> None:
    """semgrep's config-path prefix goes; other packs' ids stay."""
    assert canonical_rule_id(check_id) == expected


@pytest.mark.parametrize("corpus", ["cases", "holdout"])
def test_corpus_cases_declare_their_verdict(corpus: str) -> None:
    """Every case file's first line says its CWE and verdict; the main corpus has 6 + 6 per class."""
    root = ROOT / "bench" / "deliver" / corpus
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(classes) >= 15
    for klass in classes:
        verdicts = []
        for path in sorted(klass.glob("*.py")):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            match = _EXPECT.match(first)
            assert match, f"{path}: {first!r}"
            verdicts.append(match.group(1))
        minimum = 6 if corpus == "cases" else 2
        assert verdicts.count("vulnerable") >= minimum, klass.name
        assert verdicts.count("safe") >= minimum, klass.name


def test_docs_list_every_rule() -> None:
    """docs/deliver-rules.md names each rule of the pack (the docs stay true to the code)."""
    docs = (ROOT / "docs" / "deliver-rules.md").read_text(encoding="utf-8")
    assert [r["id"] for r in RULES if f"`{r['id']}`" not in docs] == []
