"""Evidence bundles: pack a release, verify it offline, and any byte changed anywhere fails naming the file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from securesystemslib.signer import CryptoSigner
from supply_helpers import build_wheel

from finpilot.audit import Ledger, open_ledger
from finpilot.audit.kinds import OPS_MANUAL_CHANGE
from finpilot.core import NotFoundError, Settings
from finpilot.deliver import (
    load_signing_key,
    pack_evidence,
    record_attestation,
    record_sbom,
    sign_artifact,
    verify_evidence,
    write_provenance,
    write_sbom,
)

RELEASE = "payments-1.4.0"


def _record_release(ledger: Ledger, work: Path, signing: tuple[CryptoSigner, Path]) -> Path:
    signer, public = signing
    wheel = build_wheel(work, requires=("pydantic>=2",))
    record_sbom(ledger, write_sbom(wheel, work / "sbom.json", release=RELEASE), actor="ci:test")
    record_attestation(ledger, sign_artifact(wheel, work / "sig.json", signer, public, release=RELEASE), actor="ci:t")
    prov = write_provenance(wheel, work / "prov.json", signer, public, release=RELEASE, materials=[work / "sbom.json"])
    record_attestation(ledger, prov, actor="ci:test")
    # Another subject: it stays out of the bundle.
    ledger.append(
        OPS_MANUAL_CHANGE.entry(
            actor="user:ana",
            action="finish",
            subject="db:primary",
            outcome="ok",
            evidence={"ticket": "INC-7", "reason": "x"},
        )
    )
    return wheel


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One packed bundle (never modified by a test) and the ledger key that signed it."""
    root = tmp_path_factory.mktemp("evidence")
    (root / "work").mkdir()
    with open_ledger(Settings(data_dir=root / "data")) as ledger:
        _record_release(ledger, root / "work", load_signing_key(root / "keys" / "release.pem", create=True))
        pack = pack_evidence(ledger, RELEASE, root / "bundle", actor="auditor:test")
        key = ledger.verifier_key()
    assert pack.complete
    assert pack.entries == 3
    return root / "bundle", key


def test_pack_holds_the_release_entries_their_files_and_proofs(pristine: tuple[Path, str]) -> None:
    bundle, key = pristine
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert [e["kind"] for e in manifest["entries"]] == ["deliver.sbom", "deliver.sign", "deliver.provenance"]
    # sbom.json, sig.json, the public key, prov.json (sbom.json again, as a material: copied once)
    assert len({a["file"] for a in manifest["artifacts"]}) == 4
    assert manifest["missing"] == []
    assert sorted(p.name for p in (bundle / "proofs").iterdir()) == ["0.json", "1.json", "2.json"]
    report = verify_evidence(bundle, key)
    assert report.ok, report.to_json()
    assert (report.entries, report.envelopes) == (3, 2)
    assert report.notes == []


@pytest.mark.slow  # a fresh interpreter importing the CLI: several seconds on a loaded machine
def test_verify_runs_offline_without_a_data_dir(pristine: tuple[Path, str], tmp_path: Path) -> None:
    bundle, key = pristine
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPILOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "finpilot.cli", "evidence", "verify", str(bundle), "--public-key", key, "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert list(tmp_path.iterdir()) == [], "verify must not create a data directory"


def test_a_key_the_auditor_does_not_trust_fails_at_the_checkpoint(pristine: tuple[Path, str], tmp_path: Path) -> None:
    bundle, _ = pristine
    with open_ledger(Settings(data_dir=tmp_path / "other")) as other:
        foreign = other.verifier_key()
    report = verify_evidence(bundle, foreign)
    assert not report.ok
    assert {p.file for p in report.problems} == {"checkpoint.txt"}


def _files(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_byte_of_any_file_fails_naming_that_file(pristine: tuple[Path, str], data: st.DataObject) -> None:
    bundle, key = pristine
    name = data.draw(st.sampled_from(_files(bundle)), label="file")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "bundle"
        shutil.copytree(bundle, copy)
        raw = bytearray((copy / name).read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1), label="offset")
        raw[at] ^= data.draw(st.integers(1, 255), label="xor")
        (copy / name).write_bytes(bytes(raw))
        report = verify_evidence(copy, key)
    assert not report.ok
    assert name in {p.file for p in report.problems}, report.to_json()


def test_a_file_gone_before_packing_makes_an_incomplete_bundle(
    ledger: Ledger, tmp_path: Path, signing: tuple[CryptoSigner, Path]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _record_release(ledger, work, signing)
    (work / "sig.json").unlink()
    pack = pack_evidence(ledger, RELEASE, tmp_path / "bundle", actor="auditor:test")
    assert not pack.complete
    assert "sig.json (gone; entry 1)" in pack.missing[0]
    report = verify_evidence(tmp_path / "bundle", ledger.verifier_key())
    assert any("incomplete" in p.detail and p.file == "manifest.json" for p in report.problems)


def test_pack_of_an_unknown_release_is_not_found(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        pack_evidence(ledger, "nothing-1.0", tmp_path / "bundle", actor="auditor:test")
