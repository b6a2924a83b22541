"""Each scanner adapter, for real, finds its known flaw; a missing or crashing scanner is an error, never a pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gate_helpers import TODAY, write_config, write_tree

from finpilot.deliver import GateConfig, GateResult, ScannerError, ScannerMissingError, run_gate


def _by_rule(result: GateResult) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in result.findings:
        for rule in f.rules:
            found.setdefault(rule, []).append(f"{f.file}:{f.line}")
    return found


def test_each_scanner_finds_its_flaw(full_run: GateResult) -> None:
    rules = _by_rule(full_run)
    assert "src/app.py:11" in rules["semgrep:sql-string-concat"]
    assert "src/app.py:11" in rules["bandit:B608-hardcoded_sql_expressions"]
    assert "src/app.py:7" in rules["bandit:B501-request_with_no_cert_validation"]
    assert any(r.startswith("detect-secrets:") and "src/app.py:3" in w for r, w in rules.items())
    assert "deploy/pod.yaml:1" in rules["checkov:CKV_K8S_16"]  # privileged container
    assert rules["deps:PYSEC-2018-28"] == ["requirements.txt:1"]
    assert {s.name for s in full_run.scanners} == {"bandit", "semgrep", "detect-secrets", "checkov", "deps"}
    assert all(s.version and s.version != "unknown" for s in full_run.scanners)


def test_the_report_names_the_advisory_source(full_run: GateResult) -> None:
    source = full_run.advisory_source()
    assert source is not None
    assert source.startswith("snapshot ")
    assert "advisories.json" in source
    assert "sha256:" in source


def test_no_secret_value_leaves_the_scanner(full_run: GateResult) -> None:
    import json

    text = json.dumps(full_run.to_json())
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in text


def test_a_missing_scanner_is_an_error_naming_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = write_tree(tmp_path / "tree")
    config = write_config(tmp_path / "cfg", scanners=["bandit"])
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("FINPILOT_SCANNER_PATH", str(empty))
    with pytest.raises(ScannerMissingError) as caught:
        run_gate(tree, GateConfig.load(config), today=TODAY)
    assert "bandit" in caught.value.message
    assert caught.value.fix == "pip install 'finpilot[gates]'"


def _fake_bandit(folder: Path, body: str) -> Path:
    folder.mkdir()
    script = folder / "bandit"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return folder


def test_a_scanner_writing_truncated_output_is_an_error_naming_it_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = write_tree(tmp_path / "tree")
    config = write_config(tmp_path / "cfg", scanners=["bandit"])
    # Like a crash mid-write: the -o file holds the start of a JSON document, exit code 1 ("findings").
    body = (
        'case "$1" in --version) echo "bandit 9.9";; '
        '*) shift 3; printf \'{"results": [{"filename"\' > "$1"; exit 1;; esac'
    )
    monkeypatch.setenv("FINPILOT_SCANNER_PATH", str(_fake_bandit(tmp_path / "bin", body)))
    with pytest.raises(ScannerError) as caught:
        run_gate(tree, GateConfig.load(config), today=TODAY)
    assert "bandit" in caught.value.message
    assert "bandit.json" in caught.value.message


def test_a_scanner_that_crashes_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = write_tree(tmp_path / "tree")
    config = write_config(tmp_path / "cfg", scanners=["bandit"])
    body = 'case "$1" in --version) echo "bandit 9.9";; *) echo "Traceback: boom" >&2; exit 2;; esac'
    monkeypatch.setenv("FINPILOT_SCANNER_PATH", str(_fake_bandit(tmp_path / "bin", body)))
    with pytest.raises(ScannerError, match=r"bandit failed with exit code 2 .*boom"):
        run_gate(tree, GateConfig.load(config), today=TODAY)


def test_an_unreachable_service_without_a_snapshot_is_an_error(tmp_path: Path) -> None:
    from finpilot.core import InputError

    tree = write_tree(tmp_path / "tree")
    config = GateConfig.load(write_config(tmp_path / "cfg", scanners=["deps"]))
    config = config.model_copy(update={"deps": config.deps.model_copy(update={"advisories": None})})
    with pytest.raises(InputError, match="no advisory snapshot"):
        run_gate(tree, config, today=TODAY)


def test_an_unchanged_rerun_comes_from_the_cache_and_an_edit_rescans(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree")
    config = GateConfig.load(write_config(tmp_path / "cfg", scanners=["bandit", "deps"]))
    first = run_gate(tree, config, today=TODAY)
    again = run_gate(tree, config, today=TODAY)
    assert [s.cached for s in first.scanners] == [False, False]
    assert [s.cached for s in again.scanners] == [True, True]
    assert [f.to_json() for f in again.findings] == [f.to_json() for f in first.findings]
    (tree / "src" / "app.py").write_text((tree / "src" / "app.py").read_text() + "\nimport pickle\n")
    edited = run_gate(tree, config, today=TODAY)
    assert {s.name: s.cached for s in edited.scanners} == {"bandit": False, "deps": True}
    assert any(f.rule.startswith("B403") for f in edited.findings)


def test_scanners_are_found_beside_the_interpreter_without_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINPILOT_SCANNER_PATH", raising=False)
    monkeypatch.setenv("PATH", os.defpath)
    from finpilot.deliver._gate._scanner import find_program

    assert Path(find_program("bandit")).name == "bandit"


def test_a_cache_inside_the_tree_never_keys_itself(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree")
    config = GateConfig.load(write_config(tmp_path / "cfg", scanners=["detect-secrets"]))
    # No exclusions at all and the default cache folder, <tree>/.finpilot/cache/gate: detect-secrets
    # reads every file, so if the cache's own output counted, no re-run would ever hit it.
    config = config.model_copy(update={"exclude": [], "cache_dir": None})
    run_gate(tree, config, today=TODAY)
    again = run_gate(tree, config, today=TODAY)
    assert (tree / ".finpilot" / "cache" / "gate").is_dir()
    assert [s.cached for s in again.scanners] == [True]
