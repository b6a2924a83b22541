"""``finpilot gate run``: exit codes, the one ``--json`` object, SARIF/JUnit/Markdown files, the ledger entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from gate_helpers import write_config
from typer.testing import CliRunner, Result

from finpilot.cli import app

JSON_KEYS = {
    "verdict", "reasons", "counts", "failing", "findings", "scanners", "advisory_source", "policy", "waivers",
    "duration_s", "root", "release", "sarif",
}  # fmt: skip
FINDING_KEYS = {
    "tool", "rule", "rules", "cwe", "file", "line", "severity", "message", "fingerprint", "action", "pci", "gdpr",
    "baselined", "waived", "waiver",
}  # fmt: skip


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, data: Path | None = None) -> Result:
        prefix = ["--data-dir", str(data)] if data else []
        return CliRunner().invoke(app, [*prefix, "gate", "run", *args])

    return run


def test_a_failing_gate_exits_1_with_one_json_object_and_writes_its_files(
    gate, tmp_path: Path, flawed: tuple[Path, Path]
) -> None:  # type: ignore[no-untyped-def]
    tree, config = flawed
    sarif, junit, report = tmp_path / "g.sarif", tmp_path / "g.xml", tmp_path / "g.md"
    result = gate(str(tree), "--sarif", str(sarif), "--config", str(config), "--junit", str(junit),
                  "--report", str(report), "--json")  # fmt: skip
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == JSON_KEYS
    assert doc["verdict"] == "fail"
    assert all(set(f) == FINDING_KEYS for f in doc["findings"])
    assert set(doc["counts"]) == {"critical", "high", "medium", "low", "info"}
    assert doc["advisory_source"].startswith("snapshot ")
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("failures", "0")) == doc["failing"] > 0
    assert "FAIL" in report.read_text()
    assert "6.2.4" in report.read_text()


def test_a_clean_tree_passes_with_exit_0(gate, tmp_path: Path, flawed: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "clean"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "ok.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    config = write_config(tmp_path / "cfg", scanners=["bandit", "deps"])
    result = gate(str(tree), "--sarif", str(tmp_path / "g.sarif"), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout


def test_the_gate_is_audited_with_its_sarif_digest(gate, tmp_path: Path, flawed: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    tree, config = flawed
    data = tmp_path / "data"
    sarif = tmp_path / "g.sarif"
    result = gate(str(tree), "--sarif", str(sarif), "--config", str(config), "--release", "payments-1.4.0",
                  "--json", data=data)  # fmt: skip
    assert result.exit_code == 1, result.output
    tail = CliRunner().invoke(app, ["--data-dir", str(data), "audit", "tail", "--json"])
    (entry,) = [e for e in json.loads(tail.stdout)["entries"] if e["kind"] == "deliver.gate"]
    assert entry["subject"] == "release:payments-1.4.0"
    assert entry["outcome"] == "fail"
    ev = entry["evidence"]
    assert ev["sarif"] == {"path": str(sarif), "digest": "sha256:" + hashlib.sha256(sarif.read_bytes()).hexdigest()}
    assert ev["policy_id"] == "finpilot.gate"
    assert {s["name"] for s in ev["scanners"]} == {"bandit", "semgrep", "detect-secrets", "checkov", "deps"}
    assert ev["release"] == "payments-1.4.0"


def test_a_missing_scanner_exits_2_naming_the_install_command(
    gate, tmp_path: Path, flawed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("FINPILOT_SCANNER_PATH", str(empty))
    tree, config = flawed
    result = gate(str(tree), "--sarif", str(tmp_path / "g.sarif"), "--config", str(config), "--json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["fix"] == "pip install 'finpilot[gates]'"
    assert not (tmp_path / "g.sarif").exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [(["--release", "../bad"], "--release"), (["--waivers", "WAIVERS"], "waivers[0].owner")],
)
def test_bad_input_exits_2(gate, tmp_path: Path, flawed: tuple[Path, Path], extra: list[str], field: str) -> None:  # type: ignore[no-untyped-def]
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {id: W-1, fingerprint: abc, justification: x, expires: 2027-01-01}\n")
    tree, config = flawed
    args = [a.replace("WAIVERS", str(waivers)) for a in extra]
    result = gate(str(tree), "--sarif", str(tmp_path / "g.sarif"), "--config", str(config), *args, "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["field"] == field


@pytest.mark.slow  # checkov starts in about 5 s
def test_k8s_render_output_can_be_gated(gate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    examples = Path(__file__).resolve().parents[3] / "examples" / "heal"
    rendered = tmp_path / "k8s"
    out = CliRunner().invoke(
        app, ["k8s", "render", "--config", str(examples / "finpilot.yaml"), "--out", str(rendered)]
    )
    assert out.exit_code == 0, out.output
    config = write_config(tmp_path / "cfg", scanners=["checkov"])
    result = gate(str(rendered), "--sarif", str(tmp_path / "g.sarif"), "--config", str(config), "--json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["scanners"][0]["name"] == "checkov"
    assert doc["findings"], "checkov reads the rendered manifests"
    assert all(f["cwe"] == "CWE-16" for f in doc["findings"])
    shutil.rmtree(rendered)
