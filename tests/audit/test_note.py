"""C2SP signed-note checkpoints with Ed25519, checked against the Go ``sumdb/note`` format.

Go is not needed: the known-answer vector from the package documentation of
golang.org/x/mod/sumdb/note (the "PeterNeumann" signer key, its verifier key and the signed
message it produces) pins the key hash, the verifier-key text and the signature line byte for
byte, because Ed25519 signing is deterministic (RFC 8032).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry, open_ledger
from finpilot.audit._note import (
    Verifier,
    checkpoint_body,
    key_id,
    open_checkpoint,
    raw_public,
    sign_note,
    verifier_key,
)
from finpilot.core import Settings

DASH = "\u2014"

# golang.org/x/mod/sumdb/note, package documentation ("Example").
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_MSG = (
    GO_TEXT + "\n" + DASH + " PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_LINE = (
    DASH + " EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)


def go_signer() -> Ed25519PrivateKey:
    blob = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert blob[0] == 1
    return Ed25519PrivateKey.from_private_bytes(blob[1:])


def key_from_seed(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"seed%d" % seed).digest())


def key_with_plus(name: str) -> Ed25519PrivateKey:
    for seed in range(1000):
        key = key_from_seed(seed)
        if "+" in verifier_key(name, key.public_key()).split("+", 2)[2]:
            return key
    raise AssertionError("no key with '+' in its base64 among 1000 seeds")


ORIGIN = "example.com/audit"
ROOT = hashlib.sha256(b"root").digest()


def signed(size: int = 5, root: bytes = ROOT, origin: str = ORIGIN, key: Ed25519PrivateKey | None = None) -> str:
    return sign_note(checkpoint_body(origin, size, root), origin, key or key_from_seed(1))


def verifier_for(key: Ed25519PrivateKey, name: str = ORIGIN) -> Verifier:
    return Verifier.parse(verifier_key(name, key.public_key()))


# ---------------------------------------------------------------- Go known answers
def test_go_verifier_key_and_key_hash() -> None:
    key = go_signer()
    assert verifier_key("PeterNeumann", key.public_key()) == GO_VKEY
    assert key_id("PeterNeumann", raw_public(key.public_key())).hex() == "c74f20a3"
    parsed = Verifier.parse(GO_VKEY)
    assert parsed.name == "PeterNeumann"
    assert parsed.key_id == bytes.fromhex("c74f20a3")
    assert raw_public(parsed.public_key) == raw_public(key.public_key())


def test_go_signature_is_reproduced_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", go_signer()) == GO_MSG


def test_go_note_signature_is_accepted() -> None:
    # The signature verifies; the text is not a checkpoint, so parsing stops after that.
    with pytest.raises(ValueError, match="size"):
        open_checkpoint(GO_MSG, Verifier.parse(GO_VKEY))
    # A cosignature by a key we do not know is skipped, as Go's Open does.
    with pytest.raises(ValueError, match="size"):
        open_checkpoint(GO_MSG + GO_ENOCH_LINE, Verifier.parse(GO_VKEY))
    with pytest.raises(ValueError, match="does not verify"):
        open_checkpoint(GO_MSG.replace("cryptography", "cryptographY"), Verifier.parse(GO_VKEY))


def test_plus_in_base64_key_from_transparency_dev() -> None:
    # transparency-dev/formats note tests: a type-0x01 verifier key whose base64 contains '+'.
    parsed = Verifier.parse("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert parsed.name == "TEST"
    assert parsed.key_id.hex() == "7997405c"


# ---------------------------------------------------------------- format
def test_checkpoint_body_and_note_layout() -> None:
    key = key_from_seed(7)
    body = checkpoint_body(ORIGIN, 42, ROOT)
    assert body == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    note = sign_note(body, ORIGIN, key)
    assert note.startswith(body + "\n")
    assert note.endswith("\n")
    sig_lines = note[len(body) + 1 :].splitlines()
    assert len(sig_lines) == 1
    line = sig_lines[0]
    assert line.startswith(DASH + " ")
    name, b64 = line[2:].split(" ")
    assert name == ORIGIN
    blob = base64.b64decode(b64, validate=True)
    pub = raw_public(key.public_key())
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + pub).digest()[:4]
    assert len(blob) == 4 + 64
    key.public_key().verify(blob[4:], body.encode())  # raises if the signature is not over the body
    cp = open_checkpoint(note, verifier_for(key))
    assert (cp.origin, cp.size, cp.root, cp.note) == (ORIGIN, 42, ROOT, note)


@given(
    seed=st.binary(min_size=32, max_size=32),
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="+"),
        min_size=1,
        max_size=40,
    ),
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
)
@settings(max_examples=150, deadline=None)
def test_verifier_key_round_trip_and_sign_open(seed: bytes, name: str, size: int, root: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    text = verifier_key(name, key.public_key())
    parsed = Verifier.parse(text)
    assert parsed.name == name
    assert parsed.key_id == key_id(name, raw_public(key.public_key()))
    assert raw_public(parsed.public_key) == raw_public(key.public_key())
    assert Verifier.parse(f"  {text}\n") == parsed
    note = sign_note(checkpoint_body(name, size, root), name, key)
    cp = open_checkpoint(note, parsed)
    assert (cp.origin, cp.size, cp.root) == (name, size, root)


def test_keys_whose_base64_contains_plus() -> None:
    key = key_with_plus(ORIGIN)
    text = verifier_key(ORIGIN, key.public_key())
    assert text.count("+") > 2
    parsed = Verifier.parse(text)
    assert raw_public(parsed.public_key) == raw_public(key.public_key())
    assert open_checkpoint(signed(key=key), parsed).size == 5


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name",
        "name+c74f20a3",
        "name+zzzzzzzz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key hash
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # short key hash
        "Peterneumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other name
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1",  # short key
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # alg 0x02
    ],
)
def test_verifier_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Verifier.parse(text)


def test_verifier_parse_rejects_other_algorithms() -> None:
    pub = raw_public(key_from_seed(3).public_key())
    for alg in (b"\x00", b"\x02", b"\x04"):
        kid = hashlib.sha256(b"n\n" + alg + pub).digest()[:4]
        with pytest.raises(ValueError):
            Verifier.parse(f"n+{kid.hex()}+{base64.b64encode(alg + pub).decode()}")


# ---------------------------------------------------------------- open_checkpoint rejects
def _resign_line(note: str, blob: bytes) -> str:
    body, _, _ = note.partition("\n\n")
    return f"{body}\n\n{DASH} {ORIGIN} {base64.b64encode(blob).decode()}\n"


def _sig_blob(note: str) -> bytes:
    return base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])


def test_open_checkpoint_rejects_alterations() -> None:
    key = key_from_seed(1)
    good = signed(key=key)
    v = verifier_for(key)
    assert open_checkpoint(good, v).size == 5
    b64root = base64.b64encode(ROOT).decode()
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    blob = _sig_blob(good)
    flipped = blob[:10] + bytes([blob[10] ^ 1]) + blob[11:]
    wrong_kid = bytes([blob[0] ^ 1]) + blob[1:]
    cases = {
        "size": (good.replace("\n5\n", "\n6\n", 1), "does not verify"),
        "size with leading zero": (good.replace("\n5\n", "\n05\n", 1), "does not verify"),
        "root": (good.replace(b64root, other_root), "does not verify"),
        "origin": (good.replace(ORIGIN + "\n", "example.com/other\n", 1), "does not verify"),
        "signature": (_resign_line(good, flipped), "does not verify"),
        "key id": (_resign_line(good, wrong_kid), "no signature"),
        "missing blank line": (good.replace("\n\n", "\n"), "blank line"),
        "no signature": (checkpoint_body(ORIGIN, 5, ROOT) + "\n", "no signature"),
        "unsigned body": (checkpoint_body(ORIGIN, 5, ROOT), "blank line"),
        "signature line without dash": (good.replace(DASH + " ", "- "), "malformed"),
        "signature not base64": (good[: good.rindex(" ")] + " !!!\n", "malformed"),
        "signature line with extra field": (good.rstrip("\n") + " extra\n", "malformed"),
        "garbage": ("garbage", "blank line"),
        "empty": ("", "blank line"),
        "only blank line": ("\n\n", "no signature"),
    }
    for what, (note, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            open_checkpoint(note, v)
        assert what  # for the failure message above


def test_signatures_follow_the_last_blank_line() -> None:
    """As in Go's note package, the signature block follows the *last* blank line: an extra blank
    line, or one between signature lines, changes what is signed and what counts as a signature."""
    mine, other = key_from_seed(1), key_from_seed(2)
    good = signed(key=mine)
    v = verifier_for(mine)
    witness_line = sign_note(checkpoint_body(ORIGIN, 5, ROOT), "witness.example", other).rsplit("\n", 2)[1]
    cases = {
        "doubled blank line": good.replace("\n\n", "\n\n\n", 1),
        "blank line after the signatures": good + "\n",
        "blank line before a cosignature": good + "\n" + witness_line + "\n",
        "blank line inside the body": good.replace("\n5\n", "\n\n5\n", 1),
    }
    for what, note in cases.items():
        with pytest.raises(ValueError):
            open_checkpoint(note, v)
        assert what  # for the failure message above
    assert open_checkpoint(good + witness_line + "\n", v).size == 5


@pytest.mark.parametrize("char", ["\r", "\t", "\x00", "\x01", "\x1b", "\x1f", "\x7f"])
def test_control_characters_are_refused(char: str) -> None:
    """A signed note is plain text: no control character other than newline, anywhere."""
    key = key_from_seed(1)
    good = signed(key=key)
    v = verifier_for(key)
    places = [len(ORIGIN), good.index("\n\n"), len(good) - 1, good.rindex(" ")]
    for at in places:
        with pytest.raises(ValueError, match="control"):
            open_checkpoint(good[:at] + char + good[at:], v)
    if char == "\r":
        with pytest.raises(ValueError, match="control"):
            open_checkpoint(good.replace("\n", "\r\n"), v)


def test_open_checkpoint_rejects_wrong_key_and_name() -> None:
    note = signed(key=key_from_seed(1))
    with pytest.raises(ValueError, match="no signature"):
        open_checkpoint(note, verifier_for(key_from_seed(2)))
    with pytest.raises(ValueError, match="no signature"):
        open_checkpoint(note, verifier_for(key_from_seed(1), name="example.com/other"))


def test_open_checkpoint_rejects_signed_non_checkpoints() -> None:
    key = key_from_seed(1)
    v = verifier_for(key)
    bodies = {
        "too few lines": f"{ORIGIN}\n5\n",
        "size not decimal": f"{ORIGIN}\nfive\n{base64.b64encode(ROOT).decode()}\n",
        "negative size": f"{ORIGIN}\n-5\n{base64.b64encode(ROOT).decode()}\n",
        "leading zero": f"{ORIGIN}\n05\n{base64.b64encode(ROOT).decode()}\n",
        "root not base64": f"{ORIGIN}\n5\n!!!\n",
        "short root": f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",
    }
    for body in bodies.values():
        with pytest.raises(ValueError):
            open_checkpoint(sign_note(body, ORIGIN, key), v)
    # Extension lines after the root are allowed by C2SP tlog-checkpoint.
    body = checkpoint_body(ORIGIN, 0, ROOT) + "extension line\n"
    assert open_checkpoint(sign_note(body, ORIGIN, key), v).size == 0


def test_cosignatures_by_others_are_skipped() -> None:
    mine, other = key_from_seed(1), key_from_seed(2)
    note = signed(key=mine)
    cosigned = sign_note(checkpoint_body(ORIGIN, 5, ROOT), "witness.example", other)
    witness_line = cosigned.rsplit("\n", 2)[1]
    assert open_checkpoint(note + witness_line + "\n", verifier_for(mine)).size == 5
    with pytest.raises(ValueError, match="no signature"):
        open_checkpoint(cosigned, verifier_for(mine))


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_no_mutation_yields_a_different_accepted_checkpoint(data: st.DataObject) -> None:
    key = key_from_seed(1)
    note = signed(size=123456, key=key)
    v = verifier_for(key)
    pos = data.draw(st.integers(0, len(note)), label="pos")
    kind = data.draw(st.sampled_from(["insert", "delete", "replace"]), label="kind")
    char = data.draw(st.characters(blacklist_categories=("Cs",)), label="char")
    if kind == "insert":
        mutated = note[:pos] + char + note[pos:]
    elif kind == "delete":
        mutated = note[:pos] + note[pos + 1 :]
    else:
        mutated = note[:pos] + char + note[pos + 1 :]
    try:
        cp = open_checkpoint(mutated, v)
    except ValueError:
        return
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, 123456, ROOT)


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_garbage_only_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        open_checkpoint(text, verifier_for(key_from_seed(1)))


def test_ledger_checkpoints_are_c2sp_notes(tmp_path: Path) -> None:
    settings_ = Settings(data_dir=tmp_path / "data")
    with open_ledger(settings_) as ledger:
        ledger.append(Entry(kind="custom.k", actor="a", action="x", subject="s", outcome="ok"))
        cp = ledger.checkpoint()
        assert cp is not None
        vkey = ledger.verifier_key()
        assert vkey.startswith(settings_.audit.origin + "+")
        parsed = open_checkpoint(cp.note, Verifier.parse(vkey))
        assert (parsed.origin, parsed.size, parsed.root) == (settings_.audit.origin, 1, cp.root)
        assert cp.note.startswith(checkpoint_body(settings_.audit.origin, 1, cp.root) + "\n" + DASH + " ")
