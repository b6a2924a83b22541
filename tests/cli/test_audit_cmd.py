"""``finpilot audit``: append, read, prove, verify, erase; bad input changes nothing."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Invoke, append_json, entry

from finpilot.audit import open_ledger, verify_consistency_proof, verify_inclusion_proof
from finpilot.core import demo_settings


def _size(data_dir: Path) -> int:
    if not data_dir.exists():
        return 0
    with open_ledger(demo_settings(data_dir)) as ledger:
        return ledger.size


def test_append_tail_prove_verify_round_trip(invoke: Invoke) -> None:
    result = append_json(invoke, entry())
    assert result.exit_code == 0, result.output
    assert result.stdout == "0\n"

    result = append_json(invoke, [entry(subject="service:a"), entry(subject="service:b")])
    assert result.stdout == "1\n2\n"

    lines = "\n".join(json.dumps(entry(subject=f"service:{n}")) for n in "cd") + "\n"
    result = invoke("audit", "append", "--json", input=lines)
    assert json.loads(result.stdout) == {"indices": [3, 4]}

    result = invoke(
        "audit", "append", "--kind", "custom.gate", "--actor", "ci", "--action", "pass",
        "--subject", "pr:7", "--outcome", "ok", "--evidence", '{"checks": 12}',
    )  # fmt: skip
    assert result.stdout == "5\n"

    result = invoke("audit", "tail", "-n", "3", "--json")
    tail = json.loads(result.stdout)["entries"]
    assert [e["index"] for e in tail] == [3, 4, 5]
    assert tail[-1]["evidence"] == {"checks": 12}

    result = invoke("audit", "tail")
    assert result.exit_code == 0
    assert "promote" in result.stdout
    assert "pr:7" in result.stdout

    proof = json.loads(invoke("audit", "prove", "2", "--json").stdout)
    assert proof["index"] == 2
    assert proof["tree_size"] == 6
    public_key = invoke("audit", "public-key").stdout.strip()
    assert verify_inclusion_proof(proof, public_key)

    proof = json.loads(invoke("audit", "prove", "1", "--tree-size", "3", "--json").stdout)
    assert proof["tree_size"] == 3
    assert verify_inclusion_proof(proof)

    consistency = json.loads(invoke("audit", "consistency", "2", "--json").stdout)
    assert (consistency["old_size"], consistency["new_size"]) == (2, 6)
    assert verify_consistency_proof(consistency)

    result = invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("verified 6 entries, ")

    report = json.loads(invoke("audit", "verify", "--json").stdout)
    assert report["ok"] is True
    assert report["entries"] == 6


BAD_INPUTS: list[tuple[str, str, str]] = [
    ("not-json", '{"kind": "custom.deploy", ', "input is not JSON: line 1 column"),
    ("jsonl-bad-line", json.dumps(entry()) + "\n{oops}\n", "input is not JSON: line 2"),
    ("missing-field", json.dumps({k: v for k, v in entry().items() if k != "actor"}), "'actor'"),
    ("missing-in-batch", json.dumps([entry(), {"kind": "custom.x"}]), "entries[1]"),
    ("pan", json.dumps(entry(evidence={"card": "4111111111111111"})), "'evidence'"),
    ("pan-in-batch", json.dumps([entry(), entry(evidence={"card": "4111111111111111"})]), "entries[1]"),
    ("oversize", json.dumps(entry(evidence={"blob": "x" * 70_000})), "limit is"),
    ("empty", "", "no entry given"),
    ("empty-array", "[]", "no entry given"),
    ("not-an-object", "[1]", "JSON object"),
    # Finding 5 of issue 10: the CLI may name its actor, but never as one of finpilot's own.
    ("system-actor", json.dumps(entry(actor="finpilot:fraud")), "finpilot's own components"),
    ("system-actor-in-batch", json.dumps([entry(), entry(actor="healer:local")]), "entries[1]: entry field 'actor'"),
    ("system-namespace", json.dumps(entry(kind="fraud.account_v2")), "reserved for finpilot's own writers"),
]


@pytest.mark.parametrize(("text", "needle"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_exits_2_and_appends_nothing(invoke: Invoke, data_dir: Path, text: str, needle: str) -> None:
    assert append_json(invoke, entry()).exit_code == 0
    result = invoke("audit", "append", input=text)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert needle in result.stderr
    assert "Traceback" not in result.output
    assert _size(data_dir) == 1


def test_bad_input_with_json_prints_the_error_as_json(invoke: Invoke) -> None:
    result = invoke("audit", "append", "--json", input=json.dumps(entry(subject="4111111111111111")))
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "SensitiveDataError"
    assert error["field"] == "subject"


def test_entry_options_name_the_missing_one(invoke: Invoke, data_dir: Path) -> None:
    result = invoke("audit", "append", "--kind", "k", "--actor", "a", "--action", "x", "--subject", "s")
    assert result.exit_code == 2
    assert "'outcome'" in result.stderr
    result = invoke("audit", "append", *_options(), "--evidence", "{nope")
    assert result.exit_code == 2
    assert "--evidence is not JSON" in result.stderr
    assert _size(data_dir) == 0


def _options() -> list[str]:
    return ["--kind", "k", "--actor", "a", "--action", "x", "--subject", "s", "--outcome", "ok"]


def test_json_entry_and_options_are_exclusive(invoke: Invoke) -> None:
    result = invoke("audit", "append", "--json-entry", json.dumps(entry()), *_options())
    assert result.exit_code == 2


def test_json_entry_option(invoke: Invoke) -> None:
    result = invoke("audit", "append", "--json-entry", json.dumps(entry()))
    assert result.exit_code == 0, result.output
    assert result.stdout == "0\n"


def test_verify_finds_tampering(invoke: Invoke, data_dir: Path) -> None:
    for n in range(5):
        append_json(invoke, entry(subject=f"service:{n}"))
    # Edit entry 3 behind the ledger's back, as an attacker with file access could.
    with contextlib.closing(sqlite3.connect(data_dir / "finpilot.db")) as db, db:
        (data,) = db.execute("SELECT data FROM entries WHERE idx = 3").fetchone()
        db.execute("UPDATE entries SET data = ? WHERE idx = 3", (bytes(data).replace(b"service:3", b"service:9"),))
    result = invoke("audit", "verify")
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED: first bad index 3: ")
    report = json.loads(invoke("audit", "verify", "--json").stdout)
    assert report["ok"] is False
    assert report["first_bad_index"] == 3


def test_verify_with_trusted_checkpoint(invoke: Invoke, tmp_path: Path) -> None:
    append_json(invoke, entry())
    note = invoke("audit", "checkpoint", "sign").stdout
    assert note.count("\n") >= 4
    saved = tmp_path / "witness.note"
    saved.write_text(note)
    result = invoke("audit", "verify", "--trusted-checkpoint", str(saved))
    assert result.exit_code == 0, result.output
    saved.write_text(note.replace("finpilot.local/audit\n", "someone.else/audit\n", 1))
    result = invoke("audit", "verify", "--trusted-checkpoint", str(saved))
    assert result.exit_code == 2
    assert "trusted checkpoint" in result.stderr


def test_checkpoint_on_empty_log(invoke: Invoke) -> None:
    result = invoke("audit", "checkpoint", "sign")
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_checkpoint_list(invoke: Invoke) -> None:
    assert json.loads(invoke("audit", "checkpoint", "list", "--json").stdout) == {"checkpoints": []}
    for n in range(3):
        append_json(invoke, entry(subject=f"service:{n}"))
        invoke("audit", "checkpoint", "sign")
    listed: list[dict[str, Any]] = json.loads(invoke("audit", "checkpoint", "list", "-n", "2", "--json").stdout)[
        "checkpoints"
    ]
    assert [cp["tree_size"] for cp in listed] == [2, 3]
    assert invoke("audit", "checkpoint", "list").exit_code == 0


def test_prove_unknown_index_exits_2(invoke: Invoke) -> None:
    append_json(invoke, entry())
    result = invoke("audit", "prove", "5")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_public_key_forms(invoke: Invoke) -> None:
    assert invoke("audit", "public-key").stdout.startswith("finpilot.local/audit+")
    assert invoke("audit", "public-key", "--pem").stdout.startswith("-----BEGIN PUBLIC KEY-----")
    keys = json.loads(invoke("audit", "public-key", "--json").stdout)
    assert keys == json.loads(invoke("audit", "public-key", "--pem", "--json").stdout)
    assert keys["verifier_key"] == invoke("audit", "public-key").stdout.strip()
    assert keys["pem"] == invoke("audit", "public-key", "--pem").stdout


def test_proofs_read_as_text_without_json(invoke: Invoke) -> None:
    for n in range(3):
        append_json(invoke, entry(subject=f"service:{n}"))
    invoke("audit", "checkpoint", "sign")
    proof = json.loads(invoke("audit", "prove", "1", "--json").stdout)
    text = invoke("audit", "prove", "1").stdout
    assert text.startswith("entry 1 is in the tree of size 3 (signed checkpoint included)")
    assert all(h in text for h in [proof["root_hash"], *proof["hashes"]])
    consistency = json.loads(invoke("audit", "consistency", "1", "--json").stdout)
    text = invoke("audit", "consistency", "1").stdout
    assert text.startswith("the tree of size 3 extends the tree of size 1")
    assert all(h in text for h in [consistency["old_root"], *consistency["hashes"]])


def test_erase(invoke: Invoke) -> None:
    append_json(invoke, entry())
    personal = entry(personal={"email": "ada@example.com"}, data_subject="customer:42")
    append_json(invoke, personal)

    result = invoke("audit", "erase", "customer:42", input="n\n")
    assert result.exit_code == 1  # declined: nothing erased
    result = invoke("audit", "erase", "customer:42", input="y\n")
    assert result.exit_code == 0, result.output
    assert "erased personal data from entries 1" in result.stdout
    assert "recorded at index 2" in result.stdout

    append_json(invoke, entry(personal={"phone": "+44 20 7946 0000"}, data_subject="customer:7"))
    result = invoke("audit", "erase", "customer:7", "--yes", "--json")
    assert json.loads(result.stdout) == {"erased_indices": [3], "record_index": 4}

    result = invoke("audit", "erase", "customer:42", "--yes")
    assert result.exit_code == 0
    assert "nothing erased" in result.stdout
    assert invoke("audit", "verify").exit_code == 0
