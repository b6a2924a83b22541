"""``safe_child``: the one gate a name read from data passes before it becomes a path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import InputError, safe_child


@pytest.mark.parametrize(
    "name", ["..", "../x", "a/../../x", "/etc/passwd", "a\x00b", "..\\x", "", ".", "a//b", "a/./b"]
)
def test_escapes_are_refused_naming_the_field(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as caught:
        safe_child(tmp_path, name, field="members", nested=True)
    assert caught.value.field == "members"
    assert "members" in caught.value.message


def test_plain_and_nested_names(tmp_path: Path) -> None:
    assert safe_child(tmp_path, "a.db", field="f") == tmp_path / "a.db"
    assert safe_child(tmp_path, "data/keys/k.pem", field="f", nested=True) == tmp_path / "data" / "keys" / "k.pem"
    with pytest.raises(InputError, match="'/'"):
        safe_child(tmp_path, "data/k.pem", field="f")
    with pytest.raises(InputError):
        safe_child(tmp_path, 7, field="f")


def test_symbolic_links_are_refused_even_pointing_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "inside").symlink_to(tmp_path / "real")
    (tmp_path / "out").symlink_to("/")
    for name in ("inside", "inside/x", "out/etc"):
        with pytest.raises(InputError, match="symbolic link"):
            safe_child(tmp_path, name, field="f", nested=True)


@given(name=st.one_of(st.text(max_size=30), st.text(alphabet=st.sampled_from("./\\\x00a"), max_size=12)))
def test_whatever_is_accepted_stays_inside(name: str) -> None:
    root = Path("/srv/finpilot/backups")
    try:
        path = safe_child(root, name, field="f", nested=True)
    except InputError:
        return
    assert path.resolve().is_relative_to(root.resolve())
    assert ".." not in path.relative_to(root).parts
