"""The thin step types run the finpilot CLI contract (a fake ``finpilot`` on PATH records the argv), and the
run's audit entry names every file with its digest."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import calls, env_with, fake_finpilot, run, statuses, write_pipeline

from finpilot.audit import KINDS
from finpilot.core import InputError
from finpilot.deliver import check_release, load_pipeline, run_entry
from finpilot.deliver._pipeline import step_argv

_STEPS = {
    "build": {
        "type": "run",
        "command": ["python3", "-c", "open('app-1.0.whl', 'w').write('wheel')"],
        "artifacts": {"wheel": "app-1.0.whl"},
    },
    "gate": {"type": "gate", "needs": ["build"], "path": "src", "sarif": "gate.sarif", "junit": "gate.xml"},
    "sbom": {"type": "sbom", "needs": ["build"], "path": "${steps.build.artifacts.wheel}"},
    "sign": {"type": "sign", "needs": ["build"], "artifact": "${steps.build.artifacts.wheel}", "key": "k.pem"},
    "provenance": {"type": "provenance", "needs": ["build"], "artifact": "${steps.build.artifacts.wheel}"},
    "deploy": {
        "type": "deploy",
        "needs": ["gate", "sbom", "sign", "provenance"],
        "service": "payments",
        "args": ["--strategy", "canary"],
    },
}


@pytest.fixture
def thin(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "src").mkdir()
    log = tmp_path / "calls.jsonl"
    return write_pipeline(tmp_path, _STEPS, max_parallel=4), env_with(
        fake_finpilot(tmp_path / "bin"), FAKE_FINPILOT_LOG=str(log)
    )


def test_each_thin_step_runs_its_cli_contract(tmp_path: Path, thin: tuple[Path, dict[str, str]]) -> None:
    path, env = thin
    data = tmp_path / "data"
    record = run(path, data, release="payments-1.4.0", env=env)
    assert record.status == "passed", [(s.name, s.reason) for s in record.steps]
    wheel = str(data / "pipelines" / "runs" / record.id / "artifacts" / "build" / "app-1.0.whl")
    argv = {c["argv"][0] if c["argv"][0] != "gate" else "gate": c["argv"] for c in calls(tmp_path / "calls.jsonl")}
    rel = ["--release", "payments-1.4.0"]
    assert argv["gate"] == ["gate", "run", "src", "--sarif", "gate.sarif", "--junit", "gate.xml", *rel, "--json"]
    assert argv["sbom"] == ["sbom", wheel, "--out", "sbom.cdx.json", *rel, "--json"]
    assert argv["sign"] == ["sign", wheel, "--out", "artifact.sig.json", "--key", "k.pem", *rel, "--json"]
    assert argv["provenance"] == ["provenance", wheel, "--out", "provenance.intoto.json", *rel, "--json"]
    assert argv["rollout"] == [
        "rollout",
        "start",
        "payments",
        "--release",
        "payments-1.4.0",
        "--strategy",
        "canary",
        "--json",
    ]
    # The thin steps' finpilot writes to the run's data directory.
    assert {c["data_dir"] for c in calls(tmp_path / "calls.jsonl")} == {str(data)}
    # Outputs of the thin steps are artifacts by name; the gate's JUnit is parsed.
    names = {(s.name, a.name) for s in record.steps for a in s.artifacts}
    assert {("gate", "sarif"), ("gate", "junit"), ("sbom", "sbom"), ("sign", "signature")} <= names
    assert ("provenance", "provenance") in names
    assert record.step("gate").junit is not None
    assert record.step("gate").junit["tests"] == 1


def test_a_failing_gate_stops_the_deploy(tmp_path: Path, thin: tuple[Path, dict[str, str]]) -> None:
    path, env = thin
    record = run(path, tmp_path / "data", release="payments-1.4.0", env={**env, "FAKE_FINPILOT_EXIT": "1"})
    assert statuses(record)["build"] == "passed"
    assert statuses(record)["gate"] == "failed"
    assert statuses(record)["deploy"] == "skipped"


def test_deploy_needs_a_release(tmp_path: Path, thin: tuple[Path, dict[str, str]]) -> None:
    path, env = thin
    record = run(path, tmp_path / "data", env=env)
    assert record.step("deploy").status == "failed"
    assert "needs a release" in (record.step("deploy").reason or "")
    assert record.step("sbom").argv[-1] == "--json"
    assert "--release" not in record.step("sbom").argv


def test_only_runs_the_step_and_what_it_needs(tmp_path: Path, thin: tuple[Path, dict[str, str]]) -> None:
    path, env = thin
    record = run(path, tmp_path / "data", only="sign", env=env)
    assert statuses(record) == {"build": "passed", "sign": "passed"}
    with pytest.raises(InputError, match="no step 'nope'"):
        run(path, tmp_path / "data", only="nope", env=env)


def test_step_argv_needs_no_run() -> None:
    pipeline_steps = {"g": {"type": "gate", "config": "gates.yaml", "baseline": "b.json", "waivers": "w.yaml"}}
    from finpilot.deliver._pipeline import PipelineSpec

    spec = PipelineSpec.model_validate({"name": "x", "steps": pipeline_steps})
    argv = step_argv(spec.steps["g"], release=None, resolve=lambda s, a: f"/{s}/{a}")
    assert argv == [
        "finpilot", "gate", "run", ".", "--sarif", "gate.sarif",
        "--config", "gates.yaml", "--baseline", "b.json", "--waivers", "w.yaml", "--json",
    ]  # fmt: skip


def test_the_audit_entry_names_files_with_digests(tmp_path: Path, thin: tuple[Path, dict[str, str]]) -> None:
    path, env = thin
    data = tmp_path / "data"
    record = run(path, data, release="payments-1.4.0", env=env)
    entry = run_entry(record, data_dir=data, actor="cli:test")
    assert entry.kind == "deliver.pipeline_run"
    assert entry.subject == "release:payments-1.4.0"
    assert entry.outcome == "ok"
    evidence = entry.evidence
    assert evidence["verdict"] == "passed"
    assert evidence["definition"]["path"] == str(path.resolve())
    assert evidence["definition"]["digest"].startswith("sha256:")
    assert evidence["definition_digest"] == load_pipeline(path).digest
    steps = {s["name"]: s for s in evidence["steps"]}
    assert steps["gate"]["status"] == "passed"
    assert steps["gate"]["exit_code"] == 0
    assert steps["gate"]["cache_hit"] is False
    for artifact in evidence["artifacts"]:
        file = Path(artifact["path"])
        assert file.is_file()
        assert artifact["digest"] == "sha256:" + __import__("hashlib").sha256(file.read_bytes()).hexdigest()
    assert KINDS.get("deliver.pipeline_run") is not None


def test_without_a_release_the_subject_is_the_pipeline(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": ["false"]}}, name="nightly")
    record = run(path, tmp_path / "data")
    entry = run_entry(record, data_dir=tmp_path / "data", actor="cli:test")
    assert entry.subject == "pipeline:nightly"
    assert entry.outcome == "failed"
    assert entry.evidence["verdict"] == "failed"


@pytest.mark.parametrize("bad", ["", "-rf", "a b", "a/b", "x" * 129, "é"])
def test_release_ids_are_checked(bad: str) -> None:
    with pytest.raises(InputError) as caught:
        check_release(bad)
    assert caught.value.field == "release"
    assert check_release("payments@sha256-ab12") == "payments@sha256-ab12"
