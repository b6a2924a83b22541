"""Each package's front door (``__all__``) lists exactly its public names."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest

PACKAGES = [
    "finpilot.core",
    "finpilot.audit",
    "finpilot.audit.kinds",
    "finpilot.policy",
    "finpilot.fraud",
    "finpilot.heal",
    "finpilot.watch",
    "finpilot.console",
    "finpilot.cli",
]
# The one public sub-package: the declared entry kinds (pyproject.toml's audit contract names it too).
PUBLIC_SUBPACKAGES = {"finpilot.audit": ["kinds"]}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_unique_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr}, which does not exist"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_in_all(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("finpilot")
    }
    assert public <= set(module.__all__), f"{name} exposes {sorted(public - set(module.__all__))} outside __all__"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_submodule_is_private(name: str) -> None:
    # The import-linter contracts protect "finpilot.<package>.*": that is each package's private
    # modules only while no public module sits beside them.
    module = importlib.import_module(name)
    public = [info.name for info in pkgutil.iter_modules(module.__path__) if not info.name.startswith("_")]
    expected = PUBLIC_SUBPACKAGES.get(name, [])
    assert public == expected, f"{name} has public modules {public}; export their names from __init__ instead"


def test_each_public_object_has_one_public_path() -> None:
    paths: dict[int, list[str]] = {}
    for name in PACKAGES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            value = getattr(module, attr)
            if inspect.isclass(value) or inspect.isfunction(value):
                paths.setdefault(id(value), []).append(f"{name}.{attr}")
    twice = sorted(found for found in paths.values() if len(found) > 1)
    assert twice == [], f"exported from more than one package: {twice}"
