"""The numba cache guard hashes every source the compiled kernels are built from."""

from __future__ import annotations

import ast
from pathlib import Path

from finpilot.fraud._features import _jit

HERE = Path(_jit.__file__).resolve().parent
PACKAGE = "finpilot.fraud._features."


def _package_imports(name: str) -> set[str]:
    """The ``_features`` modules that ``name`` imports (file names)."""
    tree = ast.parse((HERE / name).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module.removeprefix(PACKAGE) + ".py")
    return found


def test_every_kernel_module_and_what_it_reads_is_in_the_digest() -> None:
    sources = set(_jit._SOURCES)
    kernels = {p.name for p in HERE.glob("*.py") if "@jit" in p.read_text(encoding="utf-8")}
    assert kernels <= sources  # a module defining kernels (numba caches them per module)
    for name in sources:  # and every module a kernel module imports: its constants are compiled in
        assert _package_imports(name) <= sources, name
