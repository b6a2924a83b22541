"""Helpers the supply-chain tests share: a real wheel built with zipfile."""

from __future__ import annotations

import zipfile
from pathlib import Path


def build_wheel(directory: Path, name: str = "tiny", version: str = "1.0.0", requires: tuple[str, ...] = ()) -> Path:
    """A minimal but real wheel: a module, METADATA (with Requires-Dist), WHEEL and RECORD."""
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        zf.writestr(f"{info}/METADATA", metadata)
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path
