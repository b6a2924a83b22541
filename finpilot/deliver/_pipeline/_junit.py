"""JUnit XML reports: counts of tests, failures, errors and skipped, and the failed cases by name.

Parsed with :mod:`defusedxml` (entity expansion and external entities refused): a report is
written by whatever the step ran, so it is untrusted input. Both shapes occur in the wild:
a ``<testsuites>`` root around suites, or one ``<testsuite>`` root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element  # nosec B405  # the type only: parsing goes through defusedxml

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from finpilot.core import redact_digit_runs

_MAX_FAILURES = 50
_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class JUnitFailure:
    """One failed or erroring test case."""

    suite: str
    name: str
    kind: str
    """``failure`` or ``error``."""
    message: str

    def to_json(self) -> dict[str, str]:
        """The failure as JSON."""
        return {"suite": self.suite, "name": self.name, "kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class JUnitSummary:
    """What the reports of one step add up to."""

    files: list[str] = field(default_factory=list)
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed: list[JUnitFailure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Reports that could not be read, with why; a step with one fails."""

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON."""
        return {
            "files": self.files,
            "tests": self.tests,
            "failures": self.failures,
            "errors": self.errors,
            "skipped": self.skipped,
            "failed": [f.to_json() for f in self.failed],
            "problems": self.problems,
        }


def _suites(root: Element) -> list[Element]:
    if root.tag == "testsuite":
        return [root]
    return list(root.iter("testsuite"))


def parse_junit(paths: list[Path], *, relative_to: Path) -> JUnitSummary:
    """Add up the JUnit reports in ``paths`` (counted from the test cases themselves, not the attributes)."""
    tests = failures = errors = skipped = 0
    failed: list[JUnitFailure] = []
    problems: list[str] = []
    names: list[str] = []
    for path in paths:
        name = str(path.relative_to(relative_to)) if path.is_relative_to(relative_to) else path.name
        names.append(name)
        try:
            root = SafeTree.parse(path).getroot()
        except (SafeTree.ParseError, DefusedXmlException, OSError) as exc:
            problems.append(f"{name}: not a readable JUnit XML report ({type(exc).__name__})")
            continue
        if root.tag not in ("testsuites", "testsuite"):
            problems.append(f"{name}: root element is <{root.tag}>, not <testsuites> or <testsuite>")
            continue
        for suite in _suites(root):
            suite_name = suite.get("name", "")
            for case in suite.findall("testcase"):
                tests += 1
                for kind in ("failure", "error"):
                    bad = case.find(kind)
                    if bad is not None:
                        if kind == "failure":
                            failures += 1
                        else:
                            errors += 1
                        if len(failed) < _MAX_FAILURES:
                            message = redact_digit_runs((bad.get("message") or bad.text or "").strip()[:_MAX_MESSAGE])
                            failed.append(JUnitFailure(suite_name, case.get("name", ""), kind, message))
                        break
                else:
                    if case.find("skipped") is not None:
                        skipped += 1
    return JUnitSummary(names, tests, failures, errors, skipped, failed, problems)
