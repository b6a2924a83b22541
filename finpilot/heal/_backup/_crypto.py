"""The backup key (by reference) and the chunked AES-256-GCM stream that backups are written in.

Payload layout, one record per chunk::

    nonce (12 bytes) | length of ciphertext+tag (4 bytes, big endian) | ciphertext+tag

Each chunk's associated data binds it to its backup and its place in it::

    b"finpilot-backup/1\\0" | SHA-256(canonical manifest header) | chunk index (u32) | last (u8)

so a chunk cannot be moved, dropped, replayed from another backup, or the stream cut
short, and any change to the manifest header fails every chunk. Nonces are random per chunk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from finpilot.core import BackupSettings, ConfigError, IntegrityError, resolve_secret

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_AAD_TAG = b"finpilot-backup/1\x00"
_RECORD_HEAD = struct.Struct(">12sI")
_AAD_TAIL = struct.Struct(">IB")


@dataclass(frozen=True)
class BackupKey:
    """A loaded backup key. ``repr`` and ``str`` never show the key bytes."""

    ref: str
    secret: bytes

    def __repr__(self) -> str:
        return f"BackupKey(ref={self.ref!r})"

    __str__ = __repr__

    @property
    def key_id(self) -> str:
        """A one-way fingerprint that tells keys apart without revealing them.

        12 hex digits: too short to ever read as a card number when it lands in an error or
        an audit entry (the ledger refuses 13+ digit runs that pass the Luhn check).
        """
        return hashlib.sha256(b"finpilot-backup-key-id\x00" + self.secret).hexdigest()[:12]


def _decode_key(raw: bytes, where: str, field: str) -> bytes:
    if len(raw) == KEY_BYTES:
        return raw
    text = raw.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return binascii.unhexlify(text)
        except binascii.Error:
            pass
    try:
        decoded = base64.b64decode(text, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) == KEY_BYTES:
        return decoded
    # Never echo what was found: it may be the key with a typo in it.
    raise ConfigError(
        f"{where} does not hold a 256-bit key",
        field=field,
        fix="store 32 random bytes as 64 hex digits, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`",
    )


def load_key(settings: BackupSettings, environ: Mapping[str, str] | None = None) -> BackupKey:
    """Load the key that ``backup.key`` refers to; raise ``ConfigError`` if it is missing or unusable."""
    ref = settings.key
    if ref is None:
        raise ConfigError(
            "no backup key is configured",
            field="backup.key",
            fix="set backup.key: {file: PATH} (`finpilot backup keygen PATH` writes one) or backup.key: {env: NAME}",
        )
    # Binary: a key file may hold the raw 32 bytes, where a trailing 0x0a is part of the key.
    raw = resolve_secret(ref, field="backup.key", environ=environ, text=False, hint="64 hex digits")
    where = f"environment variable {ref.env}" if ref.env is not None else f"backup key file {ref.file}"
    return BackupKey(str(ref), _decode_key(raw, where, "backup.key"))


def _aad(header_digest: bytes, index: int, last: bool) -> bytes:
    return _AAD_TAG + header_digest + _AAD_TAIL.pack(index, 1 if last else 0)


def encrypt_chunks(key: BackupKey, header_digest: bytes, chunks: Iterable[tuple[bytes, bool]], out: BinaryIO) -> int:
    """Encrypt ``(plaintext, is_last)`` chunks into ``out``; return the number of chunks."""
    aead = AESGCM(key.secret)
    count = 0
    for index, (plain, last) in enumerate(chunks):
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, plain, _aad(header_digest, index, last))
        out.write(_RECORD_HEAD.pack(nonce, len(sealed)))
        out.write(sealed)
        count += 1
    return count


class BackupChunkError(IntegrityError):
    """A chunk of a backup's payload failed authentication or could not be read; ``chunk`` is its index."""

    def __init__(self, message: str, *, chunk: int, fix: str | None = None) -> None:
        super().__init__(message, field=f"payload.chunk[{chunk}]", fix=fix)
        self.chunk = chunk


def decrypt_chunks(key: BackupKey, header_digest: bytes, source: BinaryIO, *, max_chunk: int) -> Iterator[bytes]:
    """Yield each chunk's plaintext after authenticating it; raise :class:`BackupChunkError` naming the bad chunk."""
    aead = AESGCM(key.secret)
    index = 0
    fix = "restore from another backup; this one was altered or damaged"
    head = source.read(_RECORD_HEAD.size)
    if not head:
        raise BackupChunkError("the payload is empty: chunk 0 is missing", chunk=0, fix=fix)
    while True:
        if len(head) != _RECORD_HEAD.size:
            raise BackupChunkError(f"chunk {index} is cut short (incomplete header)", chunk=index, fix=fix)
        nonce, length = _RECORD_HEAD.unpack(head)
        if length < TAG_BYTES or length > max_chunk + TAG_BYTES:
            raise BackupChunkError(f"chunk {index} has an impossible length ({length} bytes)", chunk=index, fix=fix)
        sealed = source.read(length)
        if len(sealed) != length:
            raise BackupChunkError(
                f"chunk {index} is cut short ({len(sealed)} of {length} bytes)", chunk=index, fix=fix
            )
        following = source.read(_RECORD_HEAD.size)
        last = not following
        try:
            plain = aead.decrypt(nonce, sealed, _aad(header_digest, index, last))
        except InvalidTag:
            if last:
                # The writer marks its final chunk; if this one is not marked, chunks were cut off.
                try:
                    aead.decrypt(nonce, sealed, _aad(header_digest, index, False))
                except InvalidTag:
                    pass
                else:
                    raise BackupChunkError(
                        f"the payload ends after chunk {index}, but that chunk is not the last one written",
                        chunk=index + 1,
                        fix=fix,
                    ) from None
            raise BackupChunkError(
                f"chunk {index} failed authentication (AES-GCM tag mismatch): the payload or the manifest "
                "header was altered",
                chunk=index,
                fix=fix,
            ) from None
        yield plain
        if last:
            return
        head = following
        index += 1


def new_key_text() -> str:
    """A fresh random key as 64 hex digits, for ``backup.key: {file: PATH}`` or ``{env: NAME}``."""
    return os.urandom(KEY_BYTES).hex()


def write_backup_key(path: Path) -> None:
    """Write a fresh key to ``path`` with mode 0600; refuse to overwrite an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists", field="path", fix="choose a new path; never overwrite a backup key"
        ) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(new_key_text() + "\n")
