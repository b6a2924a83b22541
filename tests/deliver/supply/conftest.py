"""Fixtures for the supply chain: a real tiny wheel built in the test, a signing key, a ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from supply_helpers import build_wheel

from finpilot.audit import Ledger, open_ledger
from finpilot.core import Settings
from finpilot.deliver import load_signing_key

MakeWheel = Callable[..., Path]


@pytest.fixture
def make_wheel(tmp_path: Path) -> MakeWheel:
    """``make_wheel(name=..., version=..., requires=(...))`` writes a wheel under tmp_path."""
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)

    def make(name: str = "tiny", version: str = "1.0.0", requires: tuple[str, ...] = ()) -> Path:
        return build_wheel(out, name, version, requires)

    return make


@pytest.fixture
def wheel(make_wheel: MakeWheel) -> Path:
    """A tiny wheel that requires pydantic (installed here), an extra-only rich, and a package that is not."""
    return make_wheel(requires=("pydantic>=2", "rich; extra == 'cli'", "nosuchpkg-finpilot-test>=1"))


@pytest.fixture
def signing(tmp_path: Path) -> tuple[CryptoSigner, Path]:
    """A fresh default-style signing key (created on first use) and its public key file."""
    return load_signing_key(tmp_path / "keys" / "release-signing.pem", create=True)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An open SQLite ledger in a data directory of its own."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened
