"""One check for every path built from data: a name read from a manifest, an archive or a record.

A name that came from a file (a backup manifest's ``id``, a tar member, an export bundle's
file list) is untrusted: ``../../victim``, ``/etc/passwd``, a NUL byte or a symbolic link
would otherwise steer a delete, a write or a read outside the directory it belongs to.
:func:`safe_child` is the one gate those names pass through.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from finpilot.core._errors import InputError


def _refuse(root: Path, name: object, field: str, why: str) -> InputError:
    return InputError(
        f"{field} {name!r} {why}, so it cannot name a path inside {root}",
        field=field,
        fix=f"{field} must be a plain name inside {root}; remove or repair what wrote it",
    )


def safe_child(root: Path, name: object, *, field: str, nested: bool = False) -> Path:
    """``root / name`` when ``name`` stays inside ``root``; else ``InputError`` naming ``field``.

    ``name`` must be a relative string without NUL, ``..``, ``.`` or backslashes; with
    ``nested`` it may hold ``/``-separated parts (an archive member), else it is one part. The
    path, resolved, must lie under ``root`` resolved, and neither it nor any part between
    ``root`` and it may be a symbolic link (a link is refused even when it points inside:
    whoever planted it chose the target).
    """
    if not isinstance(name, str) or not name:
        raise _refuse(root, name, field, "is not a non-empty string")
    if "\x00" in name or "\\" in name:
        raise _refuse(root, name, field, "holds a NUL byte or a backslash")
    pure = PurePosixPath(name)
    if pure.is_absolute():
        raise _refuse(root, name, field, "is absolute")
    parts = name.split("/")
    if not nested and len(parts) != 1:
        raise _refuse(root, name, field, "holds a '/'")
    if any(part in ("", ".", "..") for part in parts):
        raise _refuse(root, name, field, "holds an empty, '.' or '..' part")
    path = root.joinpath(*parts)
    step = root
    for part in parts:
        step = step / part
        if step.is_symlink():
            raise _refuse(root, name, field, "is or passes through a symbolic link")
    if not path.resolve().is_relative_to(root.resolve()):
        raise _refuse(root, name, field, "resolves outside its directory")
    return path
