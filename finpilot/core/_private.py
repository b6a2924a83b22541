"""Private data on disk: the data directory is 0700 and every file in it 0600, whatever the umask.

What lives there (the audit ledger, API tokens, backups, model files, runtime logs) is
nobody else's business on a shared host. The library never changes the process umask (a
process-wide side effect on its embedder); it creates what it owns with private modes, and
:func:`tighten_tree` repairs, with one warning, anything an older release or another tool left
readable. Repairing rather than refusing: releases before this one created the data
directory 0755 and its databases 0644 under the usual umask, so a refusal would stop every
upgraded install for a state finpilot made itself. The signing key is the exception: its own
check refuses a loose key (a key others could read may have been copied; chmod cannot undo
that), so the walk leaves the directories named in ``spare`` to their owners.

SQLite gives a database's ``-wal``, ``-shm`` and ``-journal`` files the mode of the
database file itself, so a database created 0600 by :func:`private_file` keeps all of its
companions 0600 too.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection
from pathlib import Path

_log = logging.getLogger("finpilot.core.private")

DIR_MODE = 0o700
FILE_MODE = 0o600
_SHOWN = 5


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with the directory itself 0700; tighten it, warning, when it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(path)
    return path


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)
        _log.warning("%s was readable by other users (mode %o); removed group and other access", path, mode)


def private_file(path: Path) -> Path:
    """Create an empty ``path`` 0600 unless it exists; an existing one loses its group and other bits, with a warning.

    An existing file is never opened: closing any descriptor of a SQLite database drops
    every POSIX lock this process holds on it.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _tighten(path)
    return path


def tighten_tree(root: Path, *, spare: Collection[str] = ()) -> list[Path]:
    """Remove group and other access from ``root`` and everything under it; return what was changed.

    Symbolic links are neither followed nor changed. Files directly inside the subdirectories
    of ``root`` named in ``spare`` keep their modes (their owner checks them and refuses).
    One warning names what was repaired, so an operator learns the data was exposed.
    """
    if not root.is_dir():
        return []
    changed: list[Path] = []
    for current, dirs, files in os.walk(root):
        here = Path(current)
        spared = here.parent == root and here.name in spare
        paths = [here / name for name in (*dirs, *([] if spared else files))]
        for path in [root, *paths] if here == root else paths:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
            changed.append(path)
    if changed:
        shown = ", ".join(str(p) for p in changed[:_SHOWN]) + (" ..." if len(changed) > _SHOWN else "")
        _log.warning(
            "%d path(s) under %s were readable by other users; removed group and other access: %s",
            len(changed),
            root,
            shown,
        )
    return changed
