"""The release signing key: Ed25519, PKCS#8 PEM, 0600 in a 0700 directory, created on first use.

The key id follows securesystemslib's convention (``SSlibKey.from_crypto``: the SHA-256 of the
canonical JSON of the key's type, scheme and public value), so the envelopes verify with
securesystemslib, in-toto and any DSSE tool that is given the same key.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.signer import CryptoSigner, SSlibKey

from finpilot.core import InputError, IntegrityError, private_dir

KEY_FILE = "release-signing.pem"
"""The default private key's name, under ``<data dir>/keys/``."""
PUBLIC_KEY_FILE = "release-signing.pub.pem"
"""The default public key's name, beside it."""


def default_key_path(data_dir: Path) -> Path:
    """Where the release signing key lives by default."""
    return data_dir / "keys" / KEY_FILE


def public_key_path(key_path: Path) -> Path:
    """The public key's file beside a private key: ``NAME.pem`` → ``NAME.pub.pem``."""
    stem = key_path.name.removesuffix(".pem")
    return key_path.with_name(f"{stem}.pub.pem")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: two processes signing at once must not both write a key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def load_signing_key(path: Path, *, create: bool) -> tuple[CryptoSigner, Path]:
    """The signer of the key at ``path`` and its public key's file (written beside it when missing).

    With ``create`` a missing key is generated (the default key); otherwise it is an input error.
    A key others can read is refused: it may have been copied, and chmod cannot undo that.
    """
    if not path.exists():
        if not create:
            raise InputError(f"signing key {path} does not exist", field="key", fix="pass an Ed25519 PKCS#8 PEM key")
        private_dir(path.parent)
        key = Ed25519PrivateKey.generate()
        try:
            _write_new(path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), 0o600)
        except FileExistsError:
            return load_signing_key(path, create=False)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise IntegrityError(f"signing key {path} is readable by others (mode {mode:o})", fix=f"chmod 600 {path}")
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InputError(
            f"{path} is not a PEM private key", field="key", fix="pass an Ed25519 PKCS#8 PEM key"
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key", field="key", fix="pass an Ed25519 PKCS#8 PEM key")
    pub_path = public_key_path(path)
    pem = _public_pem(loaded.public_key())
    if not pub_path.exists():
        with contextlib.suppress(FileExistsError):  # another process wrote it first
            _write_new(pub_path, pem, 0o644)  # nosec B103 - a public key is meant to be read
    if pub_path.read_bytes() != pem:
        raise IntegrityError(
            f"{pub_path} is not the public half of {path}", fix=f"remove {pub_path}; it is written again on next use"
        )
    return CryptoSigner(loaded), pub_path


def load_public_key(path: Path) -> SSlibKey:
    """The securesystemslib key of a PEM public key file (Ed25519)."""
    try:
        loaded = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, UnsupportedAlgorithm):
        raise InputError(
            f"{path} is not a PEM public key", field="public_key", fix="pass release-signing.pub.pem"
        ) from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key", field="public_key", fix="pass an Ed25519 key")
    return SSlibKey.from_crypto(loaded)


def key_from_pem(pem: bytes) -> SSlibKey | None:
    """The securesystemslib key of PEM bytes, or ``None`` when they are not an Ed25519 public key."""
    try:
        loaded = load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        return None
    return SSlibKey.from_crypto(loaded) if isinstance(loaded, Ed25519PublicKey) else None
