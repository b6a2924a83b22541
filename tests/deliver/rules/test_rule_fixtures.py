"""Each rule of the pack against annotated fixtures: ``# ruleid: <id>`` fires on the next line, ``# ok: <id>`` not.

The annotations follow semgrep's own rule-test convention, so a fixture file can also be checked with
``semgrep --test``; here one semgrep run serves every case (conftest) to keep the suite fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from finpilot.deliver._rules import semgrep_rule_dir

FIXTURES = Path(__file__).parent / "fixtures"
_ANNOTATION = re.compile(r"#\s*(ruleid|ok):\s*([\w.-]+(?:\s*,\s*[\w.-]+)*)")


def _annotations(path: Path) -> list[tuple[str, int, str]]:
    """(kind, line the annotation points at, rule id) for every annotation of a fixture file."""
    out: list[tuple[str, int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        match = _ANNOTATION.search(line)
        if match is None:
            continue
        target = number + 1
        # Annotations may stack: the first code line below them is the one they point at.
        while lines[target - 1].lstrip().startswith("#"):
            target += 1
        out.extend((match.group(1), target, rule.strip()) for rule in match.group(2).split(","))
    return out


CASES = [(path.name, *annotation) for path in sorted(FIXTURES.glob("*.py")) for annotation in _annotations(path)]


def _pack_rule_ids() -> set[str]:
    ids: set[str] = set()
    for path in semgrep_rule_dir().glob("*.yaml"):
        ids.update(rule["id"] for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    return ids


@pytest.mark.parametrize(("fixture", "kind", "line", "rule"), CASES, ids=[f"{c[0]}:{c[2]}:{c[1]}" for c in CASES])
def test_annotation_holds(
    fixture_findings: dict[str, set[tuple[int, str]]], fixture: str, kind: str, line: int, rule: str
) -> None:
    """A ``ruleid`` line has the rule's finding; an ``ok`` line has none."""
    hit = (line, rule) in fixture_findings.get(fixture, set())
    if kind == "ruleid":
        assert hit, f"{rule} should fire on {fixture}:{line}"
    else:
        assert not hit, f"{rule} fired on {fixture}:{line}, which is safe"


def test_no_finding_goes_unannotated(fixture_findings: dict[str, set[tuple[int, str]]]) -> None:
    """Every finding in the fixtures is one a ``ruleid`` annotation asked for (no surprise hits)."""
    expected = {(name, line, rule) for name, kind, line, rule in CASES if kind == "ruleid"}
    surprises = sorted((name, line, rule) for name, hits in fixture_findings.items() for line, rule in hits)
    assert [s for s in surprises if s not in expected] == []


def test_every_rule_has_positive_and_negative_fixtures() -> None:
    """Each rule of the pack is shown both firing and staying quiet (and no annotation names a missing rule)."""
    ids = _pack_rule_ids()
    positive = {rule for _, kind, _, rule in CASES if kind == "ruleid"}
    negative = {rule for _, kind, _, rule in CASES if kind == "ok"}
    assert (positive | negative) <= ids
    assert ids - positive == set()
    assert ids - negative == set()
