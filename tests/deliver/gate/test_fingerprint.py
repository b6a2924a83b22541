"""Fingerprints follow a finding across edits that move it, and tell different findings apart."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from finpilot.deliver._gate._finding import RawFinding
from finpilot.deliver._gate._run import normalise

FLAW = 'cursor.execute("SELECT * FROM t WHERE id = " + user_id)'
_lines = st.lists(st.text(alphabet="abcdefgh =()#", max_size=30).filter(lambda s: "SELECT" not in s), max_size=8)


def _fp(tmp: Path, above: list[str], indent: str = "    ") -> tuple[str, int]:
    body = [*above, f"{indent}{FLAW}", "x = 1"]
    (tmp / "app.py").write_text("\n".join(body) + "\n")
    line = len(above) + 1
    raw = [RawFinding("bandit", "B608", "medium", "app.py", line, "sql", "CWE-89")]
    (finding,) = normalise(tmp, raw)
    return finding.fingerprint, line


@given(above=_lines, more=_lines, indent=st.sampled_from(["", "    ", "\t", "        "]))
def test_a_finding_keeps_its_fingerprint_when_lines_above_it_change(
    tmp_path_factory: object, above: list[str], more: list[str], indent: str
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        before, line_before = _fp(tmp, above)
        after, line_after = _fp(tmp, more + above, indent)
    assert before == after
    assert line_after == line_before + len(more)


def test_another_rule_or_file_or_code_gives_another_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(FLAW + "\n" + FLAW.replace("user_id", "other") + "\n")
    raw = [
        RawFinding("bandit", "B608", "medium", "a.py", 1, "sql", "CWE-89"),
        RawFinding("bandit", "B608", "medium", "a.py", 2, "sql", "CWE-89"),
        RawFinding("bandit", "B999", "medium", "a.py", 1, "other", None),
    ]
    fps = {f.fingerprint for f in normalise(tmp_path, raw)}
    assert len(fps) == 3


def test_identical_lines_get_distinct_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(FLAW + "\n" + FLAW + "\n")
    raw = [RawFinding("bandit", "B608", "medium", "a.py", n, "sql", "CWE-89") for n in (1, 2)]
    assert len({f.fingerprint for f in normalise(tmp_path, raw)}) == 2


def test_two_rules_of_one_tool_on_one_line_stay_apart_and_two_tools_merge(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text("kind: Pod\n")
    raw = [
        RawFinding("checkov", "CKV_K8S_16", "medium", "pod.yaml", 1, "privileged", "CWE-16"),
        RawFinding("checkov", "CKV_K8S_20", "medium", "pod.yaml", 1, "escalation", "CWE-16"),
        RawFinding("semgrep", "k8s-privileged", "high", "pod.yaml", 1, "privileged", "CWE-16"),
    ]
    found = normalise(tmp_path, raw)
    assert len(found) == 2
    assert sorted(len(f.rules) for f in found) == [1, 2]
