"""``audit export`` and ``audit verify-export``: the bundle verifies anywhere, and tampering is named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import Invoke, append_json, entry, finpilot_argv, subprocess_env


@pytest.fixture
def bundle(invoke: Invoke, tmp_path: Path) -> Path:
    """An exported bundle of five entries, one with personal data."""
    for n in range(4):
        assert append_json(invoke, entry(subject=f"service:{n}")).exit_code == 0
    append_json(invoke, entry(personal={"email": "ada@example.com"}, data_subject="customer:1"))
    directory = tmp_path / "bundle"
    result = invoke("audit", "export", str(directory))
    assert result.exit_code == 0, result.output
    assert "exported 5 entries" in result.stdout
    return directory


def _verify_elsewhere(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run verify-export as an auditor would: a fresh empty cwd, an empty HOME, no data dir."""
    cwd, home = tmp_path / "auditor", tmp_path / "home"
    cwd.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    result = subprocess.run(
        [*finpilot_argv(), "audit", "verify-export", *args],
        cwd=cwd,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Nothing may be created where the auditor runs it: no .finpilot, no keys, no database.
    assert list(cwd.iterdir()) == []
    assert list(home.iterdir()) == []
    return result


def test_verify_export_in_an_empty_place(bundle: Path, tmp_path: Path) -> None:
    result = _verify_elsewhere(tmp_path, str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("verified 5 entries, ")
    # The bundle carries commitments to personal data, never the data.
    assert all(b"ada@example.com" not in path.read_bytes() for path in bundle.iterdir())


def test_verify_export_with_the_trusted_key(bundle: Path, invoke: Invoke, tmp_path: Path) -> None:
    key_file = tmp_path / "trusted.pub"
    key_file.write_text(invoke("audit", "public-key").stdout)
    result = _verify_elsewhere(tmp_path, str(bundle), "--public-key", str(key_file))
    assert result.returncode == 0, result.stdout + result.stderr
    result = _verify_elsewhere(tmp_path, str(bundle), "--public-key", key_file.read_text().strip(), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ok": true' in result.stdout


def test_verify_export_with_another_key_fails(bundle: Path, invoke: Invoke, tmp_path: Path) -> None:
    other = invoke("--data-dir", str(tmp_path / "other"), "audit", "public-key", data=False).stdout.strip()
    result = _verify_elsewhere(tmp_path, str(bundle), "--public-key", other)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAILED: ")


def test_one_tampered_byte_is_named(bundle: Path, tmp_path: Path) -> None:
    entries = bundle / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"service:2", b"service:X")
    entries.write_bytes(b"\n".join(lines))
    result = _verify_elsewhere(tmp_path, str(bundle))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAILED: first bad index 2: ")
    assert "Traceback" not in result.stderr


def test_damaged_bundle_is_a_failed_check_not_a_crash(bundle: Path, tmp_path: Path) -> None:
    (bundle / "checkpoints.jsonl").write_text("{not json\n")
    result = _verify_elsewhere(tmp_path, str(bundle))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "checkpoints.jsonl line 1 is not a checkpoint record" in result.stdout + result.stderr


def test_verify_export_of_a_missing_directory_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("audit", "verify-export", str(tmp_path / "nowhere"), data=False)
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_export_into_a_non_empty_directory_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    append_json(invoke, entry())
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = invoke("audit", "export", str(tmp_path / "full"))
    assert result.exit_code == 2
    assert "not empty" in result.stderr
