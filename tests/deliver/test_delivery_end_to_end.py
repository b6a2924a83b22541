"""Acceptance 2: the payments example's pipeline, end to end, against a running local runtime.

``finpilot pipeline run`` on a copy of ``examples/payments`` runs its tests, then the security gate,
the wheel's build, SBOM, signature and provenance, then a signed canary of the release on the demo
runtime (payments, 2 replicas behind the router, 50 payment requests a second while the canary
runs). Afterwards the wheel verifies offline, the release's evidence bundle verifies offline (no
settings, no data directory), and changing any file of the bundle fails verification, naming it.
The figures (step durations, the canary's verdicts, the verifications) are printed (``-s``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from finpilot.audit import open_ledger
from finpilot.core import Settings
from finpilot.deliver import verify_evidence
from finpilot.heal import LocalRuntime, demo_payments_token, demo_runtime, mint_demo_payments_token
from finpilot.heal._chaos._traffic import TrafficRun

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
RELEASE = "payments-1.4.0"
RATE = 50.0


def _env(work: Path) -> dict[str, str]:
    # This checkout's code and the test's own interpreter (its python, its finpilot) for every step.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPILOT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "examples" / "payments"), env.get("PYTHONPATH", "")])
    env["HOME"] = str(work)
    return env


def _finpilot(env: dict[str, str], cwd: Path, *args: str, code: int | None = 0) -> dict[str, Any]:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "finpilot"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if code is not None:
        assert done.returncode == code, (args, done.stdout[-3000:], done.stderr[-3000:])
    answer: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    answer["_exit"], answer["_stderr"] = done.returncode, done.stderr
    return answer


def _copy_example(root: Path) -> Path:
    # The pipeline runs ../../tests/payments from its directory, and pytest reads the project's config.
    example = root / "examples" / "payments"
    junk = shutil.ignore_patterns(".finpilot", "build", "dist", "*.egg-info", "__pycache__", "*.sarif", "junit*.xml")
    shutil.copytree(REPO / "examples" / "payments", example, ignore=junk)
    (root / "tests").symlink_to(REPO / "tests")
    (root / "pyproject.toml").symlink_to(REPO / "pyproject.toml")
    return example


def _wait_for_deploy(data_dir: Path, pipeline: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pipeline.poll() is None:
        for run in (data_dir / "pipelines" / "runs").glob("*/run.json"):
            try:
                steps = {s["name"]: s["status"] for s in json.loads(run.read_text())["steps"]}
            except (OSError, ValueError):
                continue  # rewritten as we read it
            if steps.get("deploy") != "pending":
                return
        time.sleep(0.2)


def test_the_payments_pipeline_delivers_a_signed_canary_with_evidence_that_verifies_offline(tmp_path: Path) -> None:
    example = _copy_example(tmp_path / "repo")
    data_dir, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _env(tmp_path)
    ledger = open_ledger(Settings(data_dir=data_dir))
    mint_demo_payments_token(data_dir)
    started = time.monotonic()
    with LocalRuntime(demo_runtime(data_dir), data_dir, ledger) as local:
        deadline = time.monotonic() + 90
        while local.controller.status()["services"]["payments"]["ready"] < 2:
            assert time.monotonic() < deadline, "the demo runtime did not come up"
            time.sleep(0.1)
        host, port = local.controller.status()["services"]["payments"]["router"]
        token = Path(str(demo_payments_token(data_dir).file))
        argv = [str(Path(sys.executable).parent / "finpilot"), "--data-dir", str(data_dir)]
        argv += ["pipeline", "run", "--release", RELEASE, "--json"]
        pipeline = subprocess.Popen(
            argv, cwd=example, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        traffic = TrafficRun((str(host), int(port)), rate=RATE, run=RELEASE, out=tmp_path / "t.jsonl", token_file=token)
        try:
            # Payment traffic only while the canary runs: the build steps need the 2 cores more than it.
            _wait_for_deploy(data_dir, pipeline, timeout=150)
            traffic.start()
            stdout, stderr = pipeline.communicate(timeout=170)
        finally:
            if pipeline.poll() is None:
                pipeline.kill()
            if traffic.started:
                traffic.stop()
        status = _finpilot(env, elsewhere, "--data-dir", str(data_dir), "rollout", "status", RELEASE, "--json")
    ledger.close()
    run = json.loads(stdout)
    steps = {s["name"]: s for s in run["steps"]}
    figures: dict[str, Any] = {
        "pipeline": run["status"],
        "pipeline_s": run["duration_s"],
        "steps_s": {n: s["duration_s"] for n, s in steps.items()},
        "tests": steps["test"]["junit"],
        "rollout": status["phase"],
        "verdicts": [a["verdict"] for a in status["analyses"]],
    }
    print(json.dumps(figures))
    assert run["status"] == "passed", (json.dumps(figures), stderr[-3000:], {n: s["reason"] for n, s in steps.items()})
    assert [s["status"] for s in run["steps"]] == ["passed"] * 7
    assert status["phase"] == "promoted", status["outcome_reason"]
    deploy_argv = steps["deploy"]["argv"]
    assert "--require-signature" in deploy_argv
    assert deploy_argv[deploy_argv.index("--artifact") + 1].endswith("finpilot_payments-0.1.0-py3-none-any.whl")

    # The wheel, its signature and provenance, checked with nothing but the files and the public key.
    run_dir = data_dir / "pipelines" / "runs" / run["id"]
    artifact = {a["name"]: run_dir / a["path"] for s in run["steps"] for a in s["artifacts"]}
    public_key = data_dir / "keys" / "release-signing.pub.pem"
    verified = _finpilot(
        env, elsewhere, "verify-artifact", str(artifact["wheel"]), "--provenance", str(artifact["provenance"]),
        "--signature", str(artifact["signature"]), "--public-key", str(public_key), "--require-signature", "--json",
    )  # fmt: skip
    assert verified["ok"], verified
    figures["verify_artifact"] = {"ok": verified["ok"], "signed": verified["signed"], "checks": len(verified["checks"])}

    bundle = tmp_path / "bundle"
    packed = _finpilot(
        env, elsewhere, "--data-dir", str(data_dir), "evidence", "pack", RELEASE, "--out", str(bundle), "--json"
    )
    report = _finpilot(env, elsewhere, "evidence", "verify", str(bundle), "--json")
    figures["evidence"] = {k: packed[k] for k in ("entries", "files", "missing", "complete")}
    figures["evidence_verify"] = {k: report[k] for k in ("ok", "entries", "files", "envelopes", "problems")}
    assert packed["complete"], packed["missing"]
    assert report["ok"], report["problems"]
    kinds = {json.loads(p.read_text())["kind"] for p in (bundle / "entries").glob("*.json")}
    assert {"deliver.pipeline_run", "deliver.gate", "deliver.sbom", "deliver.sign", "deliver.provenance"} <= kinds
    assert {"deliver.rollout", "deliver.analysis"} <= kinds

    # Any one file changed: the bundle no longer verifies, and the problem names that file.
    files = sorted((bundle / "files").iterdir())
    assert len(files) >= 6
    for original in files:
        tampered = tmp_path / "tampered" / original.name
        shutil.copytree(bundle, tampered)
        target = tampered / "files" / original.name
        target.write_bytes(target.read_bytes() + b"\n")
        broken = verify_evidence(tampered)
        assert not broken.ok, original.name
        assert any(original.name in p.file for p in broken.problems), (original.name, broken.problems)
    refused = _finpilot(env, elsewhere, "evidence", "verify", str(tampered), "--json", code=1)
    assert any(original.name in p["file"] for p in refused["problems"])
    figures["tampered_files_refused"] = len(files)
    figures["total_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures))
