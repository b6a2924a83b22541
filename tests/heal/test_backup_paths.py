"""Security finding 3: prune and restore act only on the backup directories they listed, not on paths manifests name."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_helpers import KEY_ENV, append_entries, new_key
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from finpilot.audit import Ledger, open_ledger
from finpilot.core import BackupSettings, FinpilotError, InputError, SecretRef, Settings
from finpilot.heal import create_backup, list_backups, prune_backups, restore_drill
from finpilot.heal._backup import _store
from finpilot.heal._backup._manifest import BACKUP_ID

_OLD = "2001-01-01T00:00:00+00:00"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """SQLite settings keeping one backup, with a fresh key in the environment."""
    monkeypatch.setenv(KEY_ENV, new_key())
    return Settings(data_dir=tmp_path / "data", backup=BackupSettings(key=SecretRef(env=KEY_ENV), keep_last=1))


@pytest.fixture
def ledger(cfg: Settings) -> Iterator[Ledger]:
    """The live ledger of ``cfg``."""
    with open_ledger(cfg) as opened:
        yield opened


def _root(cfg: Settings) -> Path:
    return cfg.data_dir / "backups"


def _craft(source: Path, target: Path, backup_id: object) -> Path:
    """A copy of the backup ``source`` at ``target`` whose manifest says ``backup_id`` and an old snapshot time."""
    shutil.copytree(source, target, symlinks=True)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["header"]["id"] = backup_id
    manifest["header"]["snapshot_started_at"] = _OLD
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def _tree(root: Path) -> dict[str, tuple[str, str]]:
    """Every path under ``root`` (links not followed) with its type and content digest."""
    out: dict[str, tuple[str, str]] = {}
    for current, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(current) / name
            if path.is_symlink():
                out[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                out[str(path)] = ("dir", "")
            else:
                out[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def test_new_ids_match_the_one_pattern(cfg: Settings, ledger: Ledger) -> None:
    assert BACKUP_ID.fullmatch(create_backup(cfg, ledger).id)


def test_reviewer_reproduction_crafted_id_never_deletes_outside(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    """The finding as reported: a manifest with id ``../../victim`` beside real backups, then prune."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    append_entries(ledger, 2)
    older = create_backup(cfg, ledger)
    newer = create_backup(cfg, ledger)
    crafted = _craft(_root(cfg) / older.id, _root(cfg) / "crafted", "../../victim")

    report = prune_backups(cfg, ledger)

    assert (victim / "precious.txt").read_text() == "keep me"
    assert crafted.is_dir()
    assert report.pruned == [older.id]
    assert report.kept == [newer.id]
    assert report.unreadable == ["crafted"]
    problem = report.problems["crafted"]
    assert "'id'" in problem
    assert str(crafted / "manifest.json") in problem
    assert "../../victim" not in problem  # an unauthenticated value is never echoed


def test_id_that_differs_from_its_directory_is_reported_not_pruned(cfg: Settings, ledger: Ledger) -> None:
    """A stray directory claiming the newest backup's id (with an old date) once made prune delete the real one."""
    append_entries(ledger, 2)
    newest = create_backup(cfg, ledger)
    stray = _craft(_root(cfg) / newest.id, _root(cfg) / "20000101T000000000Z-0badf00d", newest.id)

    report = prune_backups(cfg, ledger)

    assert (_root(cfg) / newest.id / "manifest.json").is_file()
    assert stray.is_dir()
    assert report.kept == [newest.id]
    assert report.pruned == []
    assert report.unreadable == [stray.name]
    assert "'id'" in report.problems[stray.name]
    with pytest.raises(FinpilotError, match="'id'"):
        restore_drill(cfg, ledger, stray.name)


def test_symlinked_backup_dir_is_refused(cfg: Settings, ledger: Ledger, tmp_path: Path) -> None:
    append_entries(ledger, 2)
    real = create_backup(cfg, ledger)
    link_id = "20000101T000000000Z-00c0ffee"
    outside = _craft(_root(cfg) / real.id, tmp_path / "elsewhere", link_id)
    (_root(cfg) / link_id).symlink_to(outside, target_is_directory=True)
    before = _tree(outside)

    report = prune_backups(cfg, ledger)

    assert report.unreadable == [link_id]
    assert "symbolic link" in report.problems[link_id]
    with pytest.raises(FinpilotError, match="symbolic link"):
        restore_drill(cfg, ledger, link_id)
    assert _tree(outside) == before
    assert [b.id for b in list_backups(cfg) if b.manifest is not None] == [real.id]


def test_drill_refuses_an_archive_member_outside_its_scratch(
    cfg: Settings, ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even an authenticated manifest (written by whoever holds the key) cannot place a file outside the drill."""
    real_capture = _store._capture

    def capture(*args: object, **kwargs: object) -> list[_store._Captured]:
        items = real_capture(*args, **kwargs)  # type: ignore[arg-type]
        first = items[0]
        evil = dataclasses.replace(first.member, name="../../escaped.db")
        return [dataclasses.replace(first, member=evil), *items[1:]]

    monkeypatch.setattr(_store, "_capture", capture)
    append_entries(ledger, 2)
    create_backup(cfg, ledger)
    scratch = tmp_path / "drills"

    with pytest.raises(InputError) as caught:
        restore_drill(cfg, ledger, scratch=scratch)

    assert caught.value.field == "members"
    assert not (tmp_path / "escaped.db").exists()
    assert not (scratch.parent / "escaped.db").exists()


_NASTY = st.one_of(
    st.sampled_from(["..", "../..", "../../victim", "/", "/tmp/x", "\x00", "a\x00b", "a/b", ".", "", "..\\..\\x"]),
    st.text(alphabet=st.sampled_from("./\\\x00aZ9é\u202e\U0001d518-T"), max_size=12),
    st.text(max_size=20),
    st.from_regex(BACKUP_ID, fullmatch=True),
    st.integers(),
    st.none(),
)


def _dir_name(backup_id: object) -> str:
    """The crafted directory's name: the id itself when it can be one, else a fixed name."""
    if not isinstance(backup_id, str) or not backup_id or backup_id.startswith("."):
        return "crafted"
    if set(backup_id) & {"/", "\x00"} or len(backup_id.encode()) >= 200:
        return "crafted"
    return backup_id


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(backup_id="../../victim")
@example(backup_id="/" + "x")
@given(backup_id=_NASTY)
def test_random_ids_never_touch_anything_outside(
    cfg: Settings, ledger: Ledger, tmp_path: Path, backup_id: object
) -> None:
    """Whatever a manifest's id says, prune and restore change nothing outside the data directory."""
    if not list_backups(cfg):
        append_entries(ledger, 2)
        create_backup(cfg, ledger)
    victim = tmp_path / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "precious.txt").write_text("keep me")
    real = next(b for b in list_backups(cfg) if b.manifest is not None)
    crafted = _craft(real.path, _root(cfg) / _dir_name(backup_id), backup_id)
    outside = {k: v for k, v in _tree(tmp_path).items() if not k.startswith(str(cfg.data_dir))}
    # An id of the writer's form naming its own directory is a (tampered) backup inside the root:
    # prune may delete that directory, and its drill fails on the header it no longer matches.
    plausible = isinstance(backup_id, str) and bool(BACKUP_ID.fullmatch(backup_id)) and crafted.name == backup_id
    try:
        report = prune_backups(cfg, ledger)
        assert plausible or crafted.name in report.unreadable
        assert crafted.is_dir() or plausible
        for target in {crafted.name, str(backup_id)}:
            with pytest.raises(FinpilotError):
                restore_drill(cfg, ledger, target, scratch=cfg.data_dir / "drills")
        after = {k: v for k, v in _tree(tmp_path).items() if not k.startswith(str(cfg.data_dir))}
        assert after == outside
    finally:
        shutil.rmtree(crafted, ignore_errors=True)
