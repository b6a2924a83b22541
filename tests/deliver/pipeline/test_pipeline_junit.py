"""JUnit reports: counted from the cases, failures listed, hostile XML refused, and a red report fails the step."""

from __future__ import annotations

from pathlib import Path

from pipeline_helpers import py, run, write_pipeline

from finpilot.deliver._pipeline import parse_junit

_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="unit" tests="99">
    <testcase classname="t" name="ok"/>
    <testcase classname="t" name="bad"><failure message="assert 1 == 2">trace</failure></testcase>
    <testcase classname="t" name="worse"><error message="ZeroDivisionError"/></testcase>
    <testcase classname="t" name="later"><skipped/></testcase>
  </testsuite>
  <testsuite name="card">
    <testcase name="pan"><failure message="card 4111 1111 1111 1111 leaked"/></testcase>
  </testsuite>
</testsuites>
"""


def test_counts_come_from_the_cases(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(_REPORT)
    (tmp_path / "s.xml").write_text('<testsuite name="solo"><testcase name="x"/></testsuite>')
    summary = parse_junit([tmp_path / "r.xml", tmp_path / "s.xml"], relative_to=tmp_path)
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (6, 2, 1, 1)
    assert [(f.suite, f.name, f.kind) for f in summary.failed] == [
        ("unit", "bad", "failure"),
        ("unit", "worse", "error"),
        ("card", "pan", "failure"),
    ]
    assert summary.failed[0].message == "assert 1 == 2"
    assert "4111" not in summary.failed[2].message  # a card number in a test message is not copied
    assert summary.files == ["r.xml", "s.xml"]


def test_hostile_or_broken_xml_is_a_problem_not_a_parse(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<testsuite name="&b;"><testcase name="x"/></testsuite>'
    )
    (tmp_path / "bomb.xml").write_text(bomb)
    (tmp_path / "cut.xml").write_text("<testsuite><testcase")
    (tmp_path / "html.xml").write_text("<html/>")
    summary = parse_junit(sorted(tmp_path.glob("*.xml")), relative_to=tmp_path)
    assert summary.tests == 0
    assert len(summary.problems) == 3
    assert "bomb.xml" in summary.problems[0]


def test_a_red_report_fails_a_step_that_exited_zero(tmp_path: Path) -> None:
    write = f"open('reports/junit.xml', 'w').write({_REPORT!r})"
    path = write_pipeline(
        tmp_path,
        {
            "test": {
                "type": "run",
                "command": py(f"import os; os.makedirs('reports'); {write}"),
                "junit": "reports/*.xml",
            }
        },
    )
    record = run(path, tmp_path / "data")
    step = record.step("test")
    assert step.exit_code == 0
    assert step.status == "failed"
    assert step.reason == "JUnit: 2 failures, 1 errors in 5 tests"
    assert step.junit is not None
    assert step.junit["failed"][0]["name"] == "bad"


def test_no_report_is_judged_by_the_exit_code(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"test": {"type": "run", "command": "true", "junit": "reports/*.xml"}})
    record = run(path, tmp_path / "data")
    assert record.step("test").status == "passed"
    assert record.step("test").junit is None
