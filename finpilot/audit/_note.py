"""C2SP signed-note checkpoints, signed with Ed25519.

A checkpoint body is ``<origin>\\n<tree size>\\n<base64 root>\\n``; the signed note appends a
blank line and ``— <key name> <base64(key id || signature)>``. The key id is the first four
bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``, and a verifier key is written
``<name>+<hex key id>+<base64(0x01 || public key)>``, the form Go's ``golang.org/x/mod/sumdb/note``
and the transparency-dev tools read. Only ``cryptography`` is needed: no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_ALG_ED25519 = b"\x01"
_DASH = "\u2014"


def key_id(name: str, public_key: bytes) -> bytes:
    """The four-byte key hash that tags each signature line."""
    return hashlib.sha256(name.encode() + b"\n" + _ALG_ED25519 + public_key).digest()[:4]


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The text form of a verifier key, safe to publish."""
    pub = raw_public(key)
    return f"{name}+{key_id(name, pub).hex()}+{base64.b64encode(_ALG_ED25519 + pub).decode()}"


@dataclass(frozen=True, slots=True)
class Verifier:
    """A parsed verifier key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse ``name+keyid+base64``; raise ValueError with the reason."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise ValueError("a verifier key has the form name+keyid+base64key")
        name, kid_hex, b64 = parts
        try:
            kid = bytes.fromhex(kid_hex)
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise ValueError("the verifier key's id or key is not valid hex/base64") from None
        if len(kid) != 4 or len(blob) != 33 or blob[:1] != _ALG_ED25519:
            raise ValueError("only Ed25519 verifier keys (33-byte 0x01||key) are supported")
        if key_id(name, blob[1:]) != kid:
            raise ValueError("the verifier key's id does not match its name and key")
        return cls(name=name, key_id=kid, public_key=Ed25519PublicKey.from_public_bytes(blob[1:]))


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The unsigned checkpoint text."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(body: str, name: str, key: Ed25519PrivateKey) -> str:
    """Sign a note body and return the full signed note."""
    sig = key.sign(body.encode())
    kid = key_id(name, raw_public(key.public_key()))
    return f"{body}\n{_DASH} {name} {base64.b64encode(kid + sig).decode()}\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed checkpoint (not yet trusted: call :func:`open_checkpoint`)."""

    origin: str
    size: int
    root: bytes
    note: str


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; raise ValueError saying what is wrong."""
    # As in Go's note package: the signatures follow the *last* blank line, and a note is
    # plain text without control characters other than newline.
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note) or "\x7f" in note:
        raise ValueError("a signed note must not contain control characters")
    body, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise ValueError("not a signed note: no blank line before the signatures")
    body += "\n"
    good = False
    for line in sigs.splitlines():
        if not line.startswith(_DASH + " "):
            raise ValueError("malformed signature line")
        try:
            name, b64 = line[2:].split(" ")
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise ValueError("malformed signature line") from None
        if name != verifier.name or blob[:4] != verifier.key_id:
            continue  # a cosignature by someone else; not ours to judge
        try:
            verifier.public_key.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise ValueError("the signature does not verify with the log's public key") from None
        good = True
    if not good:
        raise ValueError(f"no signature by {verifier.name} on this note")
    lines = body.split("\n")
    if len(lines) < 4:
        raise ValueError("a checkpoint needs origin, size and root lines")
    origin, size_text, root_b64 = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError("the checkpoint size is not a decimal number")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error:
        raise ValueError("the checkpoint root is not base64") from None
    if len(root) != 32:
        raise ValueError("the checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin=origin, size=int(size_text), root=root, note=note)
