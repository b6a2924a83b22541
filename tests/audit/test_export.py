"""Export bundles and their offline verification, including from a bare separate process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from finpilot.audit import Entry, Ledger, VerifyReport, open_ledger, verify_bundle
from finpilot.audit._merkle import leaf_hash, root_of
from finpilot.audit._note import verifier_key
from finpilot.core import InputError, Settings

PERSONAL_TEXT = "Carol Unexported-5d2b"
N = 12


def entry(i: int) -> Entry:
    if i % 4 == 1:
        return Entry(
            kind="custom.kyc",
            actor="svc",
            action="check",
            subject=f"case:{i}",
            outcome="ok",
            personal={"name": PERSONAL_TEXT},
            data_subject="customer:carol",
        )
    return Entry(kind="custom.test", actor="tester", action="act", subject=f"item:{i}", outcome="ok", evidence={"i": i})


def build(tmp_path: Path, *, every_entry_signed: bool) -> tuple[Ledger, Path]:
    settings = Settings(data_dir=tmp_path / "data")
    settings = settings.model_copy(update={"audit": settings.audit.model_copy(update={"checkpoint_interval_s": 3600})})
    ledger = open_ledger(settings)
    if every_entry_signed:
        for i in range(N):
            ledger.append(entry(i))
            ledger.checkpoint()
    else:
        # Checkpoints at sizes 4 and 9; export signs 12.
        ledger.append_many([entry(i) for i in range(4)])
        ledger.checkpoint()
        ledger.append_many([entry(i) for i in range(4, 9)])
        ledger.checkpoint()
        ledger.append_many([entry(i) for i in range(9, N)])
    return ledger, tmp_path / "bundle"


@pytest.fixture
def signed_each(tmp_path: Path) -> Iterator[tuple[Ledger, Path]]:
    ledger, bundle = build(tmp_path, every_entry_signed=True)
    ledger.export(bundle)
    yield ledger, bundle
    ledger.close()


@pytest.fixture
def sparse(tmp_path: Path) -> Iterator[tuple[Ledger, Path]]:
    ledger, bundle = build(tmp_path, every_entry_signed=False)
    ledger.export(bundle)
    yield ledger, bundle
    ledger.close()


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, rows: list[bytes]) -> None:
    path.write_bytes(b"".join(rows))


def test_bundle_contents(signed_each: tuple[Ledger, Path]) -> None:
    ledger, bundle = signed_each
    assert sorted(p.name for p in bundle.iterdir()) == [
        "checkpoints.jsonl",
        "entries.jsonl",
        "log.pem",
        "log.pub",
        "manifest.json",
    ]
    rows = lines(bundle / "entries.jsonl")
    assert len(rows) == N
    for i, row in enumerate(rows):
        assert row == ledger.entry(i).data + b"\n"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["tree_size"] == N
    assert manifest["origin"] == ledger.origin
    latest = ledger.latest_checkpoint()
    assert latest is not None
    assert manifest["root_hash"] == latest.root.hex()
    assert (bundle / "log.pub").read_text().strip() == ledger.verifier_key()
    cps = [json.loads(line) for line in (bundle / "checkpoints.jsonl").read_text().splitlines()]
    assert [c["seq"] for c in cps] == list(range(1, N + 1))
    for blob in (p.read_bytes() for p in bundle.iterdir()):
        assert PERSONAL_TEXT.encode() not in blob
        assert b"customer:carol" not in blob
    report = verify_bundle(bundle)
    assert report.ok, report.to_json()
    assert (report.entries, report.tree_size, report.checkpoints) == (N, N, N)


def test_verify_in_a_bare_separate_process(signed_each: tuple[Ledger, Path], tmp_path: Path) -> None:
    ledger, bundle = signed_each
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPILOT")}
    env["HOME"] = str(home)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from finpilot.audit import verify_bundle\n"
        "key = sys.argv[2] if len(sys.argv) > 2 else None\n"
        "print(json.dumps(verify_bundle(Path(sys.argv[1]), public_key=key).to_json()))\n"
    )
    other = verifier_key(ledger.origin, Ed25519PrivateKey.generate().public_key())
    outcomes = {}
    for label, args in {"bundle key": [], "trusted key": [ledger.verifier_key()], "other key": [other]}.items():
        done = subprocess.run(
            [sys.executable, "-c", code, str(bundle), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outcomes[label] = json.loads(done.stdout)
    assert outcomes["bundle key"]["ok"] is True
    assert outcomes["trusted key"]["ok"] is True
    assert outcomes["other key"]["ok"] is False
    # Nothing was created where a data directory would go.
    assert list(cwd.iterdir()) == []
    assert list(home.iterdir()) == []


def test_public_key_choice(signed_each: tuple[Ledger, Path], tmp_path: Path) -> None:
    ledger, bundle = signed_each
    assert verify_bundle(bundle, public_key=ledger.verifier_key()).ok
    key_file = tmp_path / "trusted.pub"
    key_file.write_text(ledger.verifier_key() + "\n")
    assert verify_bundle(bundle, public_key=str(key_file)).ok
    other = verifier_key(ledger.origin, Ed25519PrivateKey.generate().public_key())
    report = verify_bundle(bundle, public_key=other)
    assert not report.ok
    assert report.first_bad_index == 0
    # Every checkpoint fails its signature check; with none left to vouch for them, the entries
    # are reported as unsigned from 0. Nothing else is blamed.
    assert [p.checkpoint for p in report.problems if p.where == "checkpoint"] == list(range(1, N + 1))
    assert {(p.where, p.index) for p in report.problems} == {("checkpoint", 0), ("entry", 0)}
    assert report.latest_checkpoint_size is None
    renamed = verifier_key("someone.else/log", Ed25519PrivateKey.generate().public_key())
    assert not verify_bundle(bundle, public_key=renamed).ok
    with pytest.raises(InputError):
        verify_bundle(bundle, public_key="not a key")


@pytest.mark.parametrize("index", [0, 1, 5, N - 1])
def test_flipped_byte_is_found_at_its_line(signed_each: tuple[Ledger, Path], index: int) -> None:
    _, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    row = bytearray(rows[index])
    pos = len(row) // 2
    row[pos] ^= 0x01
    rows[index] = bytes(row)
    write_lines(bundle / "entries.jsonl", rows)
    report = verify_bundle(bundle)
    assert not report.ok
    assert report.first_bad_index == index


@pytest.mark.parametrize(("index", "interval_start"), [(0, 0), (3, 0), (4, 4), (8, 4), (9, 9), (11, 9)])
def test_flipped_byte_with_sparse_checkpoints(sparse: tuple[Ledger, Path], index: int, interval_start: int) -> None:
    # Without a checkpoint per entry, a bundle can only say which signed interval is broken.
    _, bundle = sparse
    rows = lines(bundle / "entries.jsonl")
    rows[index] = rows[index].replace(b'"outcome":"ok"', b'"outcome":"OK"')
    write_lines(bundle / "entries.jsonl", rows)
    report = verify_bundle(bundle)
    assert not report.ok
    assert report.first_bad_index == interval_start


def test_deleted_line(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    del rows[6]
    write_lines(bundle / "entries.jsonl", rows)
    report = verify_bundle(bundle)
    assert not report.ok
    assert report.first_bad_index == 6


def test_deleted_last_line(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    write_lines(bundle / "entries.jsonl", lines(bundle / "entries.jsonl")[:-1])
    assert not verify_bundle(bundle).ok


def test_swapped_lines(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    rows[3], rows[8] = rows[8], rows[3]
    write_lines(bundle / "entries.jsonl", rows)
    report = verify_bundle(bundle)
    assert not report.ok
    assert report.first_bad_index == 3


def test_inserted_line(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    rows.insert(5, rows[4])
    write_lines(bundle / "entries.jsonl", rows)
    assert not verify_bundle(bundle).ok


def _edit_checkpoints(bundle: Path, how: str) -> None:
    path = bundle / "checkpoints.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    if how == "root":
        rows[4]["root_hash"] = "00" * 32
    elif how == "size":
        rows[4]["tree_size"] += 1
    elif how == "seq":
        rows[4]["seq"] = 40
    elif how == "note":
        rows[4]["note"] = rows[4]["note"].replace("\n5\n", "\n6\n")
    elif how == "swap notes":
        rows[4]["note"], rows[5]["note"] = rows[5]["note"], rows[4]["note"]
    elif how == "drop middle":
        del rows[4]
    elif how == "duplicate":
        rows.insert(4, rows[4])
    elif how == "reorder":
        rows[4], rows[5] = rows[5], rows[4]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if how == "garbage":
        text = text.replace(text.splitlines()[3], "garbage", 1)
    path.write_text(text)


@pytest.mark.parametrize(
    "how", ["root", "size", "seq", "note", "swap notes", "drop middle", "duplicate", "reorder", "garbage"]
)
def test_edited_checkpoints(signed_each: tuple[Ledger, Path], how: str) -> None:
    _, bundle = signed_each
    _edit_checkpoints(bundle, how)
    report = verify_bundle(bundle)
    assert not report.ok, report.to_json()


def test_edited_manifest_and_keys(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    manifest_path = bundle / "manifest.json"
    original = manifest_path.read_text()
    manifest = json.loads(original)
    for field, value in (("tree_size", N - 1), ("root_hash", "11" * 32), ("origin", "other.example/log")):
        manifest_path.write_text(json.dumps({**manifest, field: value}))
        assert not verify_bundle(bundle).ok, field
    manifest_path.write_text(original)
    (bundle / "log.pem").write_text((bundle / "log.pem").read_text().replace("A", "B", 1))
    assert not verify_bundle(bundle).ok


# Export signs every entry it writes, so entries a bundle's checkpoints do not cover were added
# (or their checkpoint removed) afterwards: verify_bundle reports them as an "entry" problem at
# the size the last signed checkpoint covers.


def assert_unsigned_from(report: VerifyReport, covered: int) -> None:
    detail = report.to_json()
    assert not report.ok, detail
    assert any(p.where == "entry" and p.index == covered for p in report.problems), detail
    assert report.first_bad_index == covered, detail


def test_dropped_last_checkpoint(signed_each: tuple[Ledger, Path]) -> None:
    _, bundle = signed_each
    path = bundle / "checkpoints.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    assert_unsigned_from(verify_bundle(bundle), N - 1)


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_sparse_bundle_with_late_checkpoints_dropped(sparse: tuple[Ledger, Path], keep: int) -> None:
    """Checkpoints at 4, 9 and 12: keep only the first ``keep``; the entries past the last one
    kept are reported, from its size on (from 0 when none is left)."""
    _, bundle = sparse
    path = bundle / "checkpoints.jsonl"
    rows = path.read_text().splitlines(keepends=True)
    assert [json.loads(r)["tree_size"] for r in rows] == [4, 9, N]
    path.write_text("".join(rows[:keep]))
    assert_unsigned_from(verify_bundle(bundle), [0, 4, 9][keep])


def test_bundle_with_entries_and_no_checkpoint(signed_each: tuple[Ledger, Path]) -> None:
    ledger, bundle = signed_each
    (bundle / "checkpoints.jsonl").write_text("")
    assert_unsigned_from(verify_bundle(bundle), 0)
    assert_unsigned_from(verify_bundle(bundle, public_key=ledger.verifier_key()), 0)


def _forge_manifest(bundle: Path) -> None:
    rows = [r.rstrip(b"\n") for r in lines(bundle / "entries.jsonl")]
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["tree_size"] = len(rows)
    manifest["root_hash"] = root_of([leaf_hash(r) for r in rows]).hex()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_forged_entry_appended_to_bundle(signed_each: tuple[Ledger, Path]) -> None:
    ledger, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    rows.append(rows[-1].replace(b"item:", b"forged:"))
    write_lines(bundle / "entries.jsonl", rows)
    _forge_manifest(bundle)
    assert_unsigned_from(verify_bundle(bundle, public_key=ledger.verifier_key()), N)


def test_forged_last_entry_with_its_checkpoint_dropped(signed_each: tuple[Ledger, Path]) -> None:
    ledger, bundle = signed_each
    rows = lines(bundle / "entries.jsonl")
    rows[-1] = rows[-1].replace(b'"outcome":"ok"', b'"outcome":"denied"')
    write_lines(bundle / "entries.jsonl", rows)
    path = bundle / "checkpoints.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    _forge_manifest(bundle)
    assert_unsigned_from(verify_bundle(bundle, public_key=ledger.verifier_key()), N - 1)


def test_export_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    ledger, _ = build(tmp_path, every_entry_signed=False)
    try:
        target = tmp_path / "occupied"
        target.mkdir()
        (target / "something.txt").write_text("x")
        with pytest.raises(InputError) as info:
            ledger.export(target)
        assert info.value.field == "directory"
        assert [p.name for p in target.iterdir()] == ["something.txt"]
        empty = tmp_path / "empty"
        empty.mkdir()
        ledger.export(empty)
        assert verify_bundle(empty).ok
        nested = tmp_path / "a" / "b" / "c"
        ledger.export(nested)
        assert verify_bundle(nested).ok
    finally:
        ledger.close()


def test_export_of_an_empty_ledger(tmp_path: Path) -> None:
    with open_ledger(Settings(data_dir=tmp_path / "data")) as ledger:
        manifest = ledger.export(tmp_path / "bundle")
    assert manifest["tree_size"] == 0
    assert (tmp_path / "bundle" / "entries.jsonl").read_bytes() == b""
    report = verify_bundle(tmp_path / "bundle")
    assert report.ok
    assert report.tree_size == 0


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        verify_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something/else"}')
    with pytest.raises(InputError):
        verify_bundle(tmp_path)


@pytest.mark.parametrize("absolute", [False, True])
def test_bundle_file_list_cannot_reach_outside_the_bundle(
    signed_each: tuple[Ledger, Path], tmp_path: Path, absolute: bool
) -> None:
    """Finding 3's class: the manifest's file names must not make verification hash (and so confirm) any file."""
    _ledger, bundle = signed_each
    outside = tmp_path / "outside.txt"
    outside.write_text("a secret the bundle's author may not read")
    name = str(outside) if absolute else "../outside.txt"
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256(outside.read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    report = verify_bundle(bundle)
    assert not report.ok
    assert any("outside the bundle" in p.detail for p in report.problems)
