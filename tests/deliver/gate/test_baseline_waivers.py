"""Baselines let only new findings fail; waivers need an owner, a reason and an expiry, and fail once expired."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from gate_helpers import TODAY, write_config

from finpilot.core import InputError
from finpilot.deliver import GateConfig, GateResult, load_baseline, load_waivers, run_gate, to_sarif


def _waivers(tmp_path: Path, *items: dict[str, object]) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": list(items)}))
    return path


def test_a_baseline_of_every_finding_passes_and_a_new_finding_fails(tmp_path: Path, flawed: tuple[Path, Path]) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(flawed[0], tree)
    config = GateConfig.load(write_config(tmp_path / "cfg", scanners=["bandit"]))  # the quick one
    first = run_gate(tree, config, today=TODAY)
    assert first.verdict == "fail"
    sarif = tmp_path / "old.sarif"
    sarif.write_text(json.dumps(to_sarif(first, baseline_used=False)))
    known = load_baseline(sarif)
    assert known == {f.fingerprint for f in first.findings}
    again = run_gate(tree, config, baseline=known, today=TODAY)
    assert again.verdict == "pass"
    assert all(f.baselined and f.action == "pass" for f in again.findings)
    # Lines added above old findings move them but keep them in the baseline; the new flaw fails.
    app = tree / "src" / "app.py"
    app.write_text(
        'import os\n\n\ndef drop(c, t):\n    return c.execute("DELETE FROM x WHERE t = " + t)\n\n' + app.read_text()
    )
    moved = run_gate(tree, config, baseline=known, today=TODAY)
    assert moved.verdict == "fail"
    new = [f for f in moved.findings if not f.baselined]
    assert {(f.file, f.line, f.cwe) for f in new} == {("src/app.py", 5, "CWE-89")}
    assert "new" in json.dumps(to_sarif(moved, baseline_used=True))


def test_the_baseline_also_reads_a_plain_fingerprint_list(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"fingerprints": ["ab" * 16]}))
    assert load_baseline(path) == {"ab" * 16}
    path.write_text("[1, 2")
    with pytest.raises(InputError):
        load_baseline(path)


def test_a_live_waiver_passes_its_finding_and_an_expired_one_fails_the_gate(
    tmp_path: Path, flawed: tuple[Path, Path], full_run: GateResult
) -> None:
    tree, config_path = flawed
    config = GateConfig.load(config_path)
    everything = frozenset(f.fingerprint for f in full_run.findings)
    sql = next(f for f in full_run.findings if f.cwe == "CWE-89")
    others = everything - {sql.fingerprint}
    waiver = {"id": "W-1", "fingerprint": sql.fingerprint, "owner": "ana", "justification": "enum input",
              "expires": "2027-01-31"}  # fmt: skip
    live = run_gate(tree, config, baseline=others, waivers=load_waivers(_waivers(tmp_path, waiver)), today=TODAY)
    assert live.verdict == "pass"
    assert live.waivers_applied == ("W-1",)
    (waived,) = [f for f in live.findings if f.fingerprint == sql.fingerprint]
    assert waived.waived_by == "W-1"
    assert waived.action == "pass"
    later = run_gate(
        tree, config, baseline=others, waivers=load_waivers(_waivers(tmp_path, waiver)), today=dt.date(2027, 2, 1)
    )
    assert later.verdict == "fail"
    assert later.waivers_expired == ("W-1",)
    assert "waiver W-1 expired on 2027-01-31" in later.reasons


def test_a_waiver_by_rule_and_path(tmp_path: Path, flawed: tuple[Path, Path], full_run: GateResult) -> None:
    tree, config_path = flawed
    waiver = {"id": "W-2", "rule": "B501-request_with_no_cert_validation", "path": "src/*.py", "owner": "ana",
              "justification": "internal mTLS terminates before", "expires": "2027-01-31"}  # fmt: skip
    result = run_gate(tree, GateConfig.load(config_path), waivers=load_waivers(_waivers(tmp_path, waiver)), today=TODAY)
    (tls,) = [f for f in result.findings if f.cwe == "CWE-295"]
    assert tls.waived_by == "W-2"


@pytest.mark.parametrize("missing", ["owner", "justification", "expires"])
def test_a_waiver_without_owner_justification_or_expiry_is_bad_input(tmp_path: Path, missing: str) -> None:
    waiver = {"id": "W-3", "fingerprint": "ab" * 16, "owner": "ana", "justification": "why", "expires": "2027-01-31"}
    del waiver[missing]
    with pytest.raises(InputError) as caught:
        load_waivers(_waivers(tmp_path, waiver))
    assert "W-3" in caught.value.message
    assert missing in (caught.value.field or "")


def test_a_waiver_must_name_what_it_waives(tmp_path: Path) -> None:
    waiver = {"id": "W-4", "rule": "B608", "owner": "ana", "justification": "why", "expires": "2027-01-31"}
    with pytest.raises(InputError, match="W-4"):
        load_waivers(_waivers(tmp_path, waiver))
