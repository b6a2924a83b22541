"""What every delivery step shares: the release id's form, how a file is named by digest, how a config file is read."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from finpilot.core import InputError

RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
"""A release id: letters, digits and ``. _ @ + -``, starting with a letter or digit, at most 128 characters.

It becomes part of an audit subject (``release:<ID>``) and of file names, so nothing else is allowed."""


def check_release(release: str | None) -> str | None:
    """Return ``release`` when it is a valid release id (or ``None``); raise :class:`InputError` otherwise."""
    if release is not None and not RELEASE_ID.fullmatch(release):
        raise InputError(
            "the release id is not valid",
            field="release",
            fix="use letters, digits and . _ @ + - (at most 128, starting with a letter or digit), e.g. payments-1.4.0",
        )
    return release


def sha256_hex(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes: the form every deliver entry names files by."""
    return f"sha256:{sha256_hex(path)}"


_M = TypeVar("_M", bound=BaseModel)


def load_model_file(model: type[_M], path: Path, what: str, *, fix: str | None = None) -> _M:
    """Read a YAML or JSON file into ``model``; an unreadable file or a bad field is an InputError naming it.

    ``what`` names the file in messages (``the judge config``); ``fix`` says where its fields are documented.
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}", field="config", fix=fix) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "config"
        raise InputError(f"{what} {path}: {name}: {first['msg']}", field=name, fix=fix) from None
