"""The supply-chain commands: exit codes (0 ok, 1 check failed, 2 bad input), --json shapes, audit entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from finpilot.audit import open_ledger
from finpilot.cli import app
from finpilot.core import Settings

Run = Callable[..., Result]
ATTEST_KEYS = {"release", "artifact", "output", "key_id", "public_key", "payload_type", "predicate_type", "audit_index"}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args, data=True)``: finpilot in process, from an empty directory, with its own data dir."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, data: bool = True) -> Result:
        prefix = ["--data-dir", str(tmp_path / "data")] if data else []
        return CliRunner().invoke(app, [*prefix, *args])

    return invoke


def _json(result: Result, code: int) -> dict[str, Any]:
    assert result.exit_code == code, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_release_chain_through_the_cli(run: Run, wheel: Path, tmp_path: Path) -> None:
    rel = ["--release", "payments-1.4.0", "--json"]
    sbom = _json(run("sbom", str(wheel), "--out", str(tmp_path / "sbom.json"), *rel), 0)
    assert set(sbom) == {
        "release",
        "artifact",
        "output",
        "format",
        "spec_version",
        "components",
        "source",
        "audit_index",
    }
    sign = _json(run("sign", str(wheel), "--out", str(tmp_path / "sig.json"), *rel), 0)
    assert set(sign) == ATTEST_KEYS
    prov = _json(run("provenance", str(wheel), "--out", str(tmp_path / "prov.json"), "--command", "make", *rel), 0)
    assert set(prov) == ATTEST_KEYS | {"build_type", "builder_id", "slsa_build_level", "source", "materials"}
    assert [sbom["audit_index"], sign["audit_index"], prov["audit_index"]] == [0, 1, 2]
    key = tmp_path / "data" / "keys" / "release-signing.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert sign["public_key"]["path"] == str(key.with_name("release-signing.pub.pem"))
    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        kinds = [(e.fields["kind"], e.fields["subject"]) for e in reversed(ledger.tail(3))]
    assert kinds == [(k, "release:payments-1.4.0") for k in ("deliver.sbom", "deliver.sign", "deliver.provenance")]

    pub = str(key.with_name("release-signing.pub.pem"))
    check = ["--provenance", str(tmp_path / "prov.json"), "--signature", str(tmp_path / "sig.json")]
    ok = _json(run("verify-artifact", str(wheel), *check, "--public-key", pub, "--require-signature", "--json"), 0)
    assert set(ok) == {"ok", "artifact", "signed", "checks", "failed"}
    assert ok["ok"] is True

    pack = _json(run("evidence", "pack", "payments-1.4.0", "--out", str(tmp_path / "bundle"), "--json"), 0)
    assert set(pack) == {"directory", "release", "entries", "files", "missing", "complete", "seal_index", "tree_size"}
    verified = _json(run("evidence", "verify", str(tmp_path / "bundle"), "--json", data=False), 0)
    assert set(verified) == {"ok", "release", "entries", "files", "envelopes", "problems", "bad_files", "notes"}

    wheel.write_bytes(wheel.read_bytes() + b"!")
    changed = _json(run("verify-artifact", str(wheel), *check, "--public-key", pub, "--json"), 1)
    assert changed["failed"] == ["digest"]
    sbom_copy = next((tmp_path / "bundle" / "files").glob("*-sbom.json"))
    sbom_copy.write_text(sbom_copy.read_text().replace("tiny", "tinz"))
    tampered = _json(run("evidence", "verify", str(tmp_path / "bundle"), "--json", data=False), 1)
    assert f"files/{sbom_copy.name}" in tampered["bad_files"]


def test_without_a_configured_data_dir_nothing_is_audited(run: Run, wheel: Path, tmp_path: Path) -> None:
    result = _json(run("sbom", str(wheel), "--out", str(tmp_path / "s.json"), "--json", data=False), 0)
    assert result["audit_index"] is None
    assert list((tmp_path / "cwd").iterdir()) == []


def test_human_output_and_refusals(run: Run, wheel: Path, tmp_path: Path) -> None:
    signed = run("sign", str(wheel), "--out", str(tmp_path / "sig.json"))
    assert signed.exit_code == 0, signed.output
    assert "wrote a signed statement" in signed.stdout
    other = tmp_path / "other.pem"
    assert run("sign", str(wheel), "--out", str(tmp_path / "x.json"), "--key", str(other)).exit_code == 2
    # A key of its own, made by the default path of another data dir, is the wrong key here.
    run("--data-dir", str(tmp_path / "d2"), "sign", str(wheel), "--out", str(tmp_path / "y.json"), data=False)
    wrong = tmp_path / "d2" / "keys" / "release-signing.pub.pem"
    refused = run("verify-artifact", str(wheel), "--signature", str(tmp_path / "sig.json"), "--public-key", str(wrong))
    assert refused.exit_code == 1
    assert "bad signature" in refused.output
    unsigned = run("verify-artifact", str(wheel), "--public-key", str(wrong), "--require-signature")
    assert unsigned.exit_code == 1
    assert "unsigned where required" in unsigned.output


@pytest.mark.parametrize(
    "args",
    [
        ["sbom", "{missing}", "--out", "{out}"],
        ["sbom", "{wheel}", "--out", "{out}", "--release", "bad release!"],
        ["sign", "{missing}", "--out", "{out}"],
        ["verify-artifact", "{wheel}"],
        ["verify-artifact", "{wheel}", "--signature", "{missing}"],
        ["evidence", "pack", "nothing-1.0", "--out", "{out}"],
        ["evidence", "verify", "{missing}"],
    ],
    ids=["sbom-missing", "bad-release", "sign-missing", "nothing-to-check", "no-envelope", "no-entries", "no-bundle"],
)
def test_bad_input_exits_2_with_one_json_error(run: Run, wheel: Path, tmp_path: Path, args: list[str]) -> None:
    names = {"{missing}": str(tmp_path / "missing"), "{out}": str(tmp_path / "out"), "{wheel}": str(wheel)}
    document = _json(run(*[names.get(a, a) for a in args], "--json"), 2)
    assert set(document) == {"error", "message", "field", "fix"}
