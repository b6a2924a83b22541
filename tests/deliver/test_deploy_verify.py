"""A deploy refuses an artifact that does not verify when the policy says so, and records the refusal."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from finpilot.audit import Entry, open_ledger
from finpilot.cli import app
from finpilot.core import CheckFailedError, InputError, Settings
from finpilot.deliver import RolloutConfig, RolloutStore, deploy_verifier, new_rollout
from finpilot.heal import ArmSpec

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args)``: finpilot in process, from an empty directory, with its own data dir."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *args])

    return invoke


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    """A release artifact (its bytes are all the check looks at)."""
    path = tmp_path / "payments-1.4.0.whl"
    path.write_bytes(b"PK\x03\x04 not really a wheel, but bytes with a digest")
    return path


def _rollout_entries(tmp_path: Path) -> list[dict[str, Any]]:
    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        found = [e.fields for e in reversed(ledger.tail(10_000))] if ledger.size else []
    return [f for f in found if f["kind"] == "deliver.rollout"]


def test_an_unsigned_artifact_is_refused_when_a_signature_is_required(run: Run, artifact: Path, tmp_path: Path) -> None:
    # A signature of another file creates the release key, so the trusted key exists and only the signature lacks.
    other = tmp_path / "other.bin"
    other.write_bytes(b"other")
    assert run("sign", str(other), "--out", str(tmp_path / "other.sig.json"), "--json").exit_code == 0
    result = run(
        "rollout", "start", "payments", "--release", "payments-1.4.0",
        "--artifact", str(artifact), "--require-signature", "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "payments-1.4.0.whl is not verified" in result.output
    assert "unsigned where required" in result.output
    (refusal,) = _rollout_entries(tmp_path)
    assert (refusal["action"], refusal["outcome"], refusal["subject"]) == ("refuse", "failed", "release:payments-1.4.0")
    assert "unsigned where required" in refusal["evidence"]["reason"]
    # Signed over other bytes: the digest check names the mismatch, and the start is refused again.
    result = run(
        "rollout", "start", "payments", "--release", "payments-1.4.0", "--artifact", str(artifact),
        "--signature", str(tmp_path / "other.sig.json"), "--require-signature", "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "digest mismatch" in result.output
    assert [e["action"] for e in _rollout_entries(tmp_path)] == ["refuse", "refuse"]


def test_a_required_signature_without_an_artifact_or_a_key_is_bad_input(
    run: Run, artifact: Path, tmp_path: Path
) -> None:
    config = tmp_path / "rollout.yaml"
    config.write_text("require_signature: true\n")
    result = run("rollout", "start", "payments", "--release", "r-1", "--config", str(config), "--json")
    assert result.exit_code == 2, result.output
    assert "requires a signed artifact" in result.output
    assert "--artifact" in result.output
    # No release key in the data dir and none given: the missing key is named.
    result = run("rollout", "start", "payments", "--release", "r-2", "--artifact", str(artifact), "--require-signature")
    assert result.exit_code == 2, result.output
    assert "public key" in result.output
    assert [e["action"] for e in _rollout_entries(tmp_path)] == ["refuse", "refuse"]
    result = run("rollout", "start", "payments", "--release", "r-3", "--signature", str(config))
    assert result.exit_code == 2
    assert "--artifact" in result.output


class _Platform:
    """The least of a runtime: the stable spec, and the arms and shares it is given."""

    def __init__(self) -> None:
        self.arms: dict[str, ArmSpec] = {}

    def stable_spec(self, service: str) -> tuple[dict[str, str], int]:
        return {}, 2

    def set_arms(self, service: str, arms: Mapping[str, ArmSpec], *, stable: ArmSpec | None = None) -> dict[str, Any]:
        self.arms = dict(arms)
        return {}

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        return {}


def test_a_signed_and_attested_artifact_passes_the_check(run: Run, artifact: Path, tmp_path: Path) -> None:
    sig, prov = tmp_path / "sig.json", tmp_path / "prov.json"
    assert run("sign", str(artifact), "--out", str(sig), "--json").exit_code == 0
    assert run("provenance", str(artifact), "--out", str(prov), "--json").exit_code == 0
    public = tmp_path / "data" / "keys" / "release-signing.pub.pem"
    verify = deploy_verifier(artifact, provenance=prov, signature=sig, public_key=public, require_signature=True)
    assert verify is not None
    entries: list[Entry] = []
    platform = _Platform()
    config = RolloutConfig(require_signature=True)
    record = new_rollout(
        platform,  # type: ignore[arg-type]  # the start needs only these three calls
        RolloutStore(tmp_path / "r.db"), entries.append, service="payments", release="payments-1.4.0", env={},
        config=config, verify=verify,
    )  # fmt: skip
    assert [a.action for a in record.actions] == ["start"]
    assert set(platform.arms) == {"baseline", "canary"}
    # The same hook, once the artifact's bytes change, refuses before the platform is asked anything.
    artifact.write_bytes(artifact.read_bytes() + b"!")
    with pytest.raises(CheckFailedError, match="digest mismatch"):
        verify("payments-1.4.1", {})
    assert deploy_verifier(None) is None
    with pytest.raises(InputError) as missing:
        deploy_verifier(None, require_signature=True)("r", {})  # type: ignore[misc]
    assert missing.value.field == "artifact"
    assert json.loads(sig.read_text())["payloadType"] == "application/vnd.in-toto+json"
