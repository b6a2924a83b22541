"""Running this machine's PostgreSQL binaries, as the OS user that owns the data directories.

initdb and postgres refuse to run as root, so when finpilot itself is root every tool runs as
``db.ha.os_user`` (subprocess ``user=``/``group=``) and every directory it writes is chowned to it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from finpilot.core import ConfigError, StorageError

_SYSTEM_ROOT = Path("/usr/lib/postgresql")
# A failing tool's stderr is summarised in errors; cap it so one error cannot flood a log line.
_STDERR_CHARS = 600


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bin_dir(configured: Path | None) -> Path:
    """The directory of initdb/pg_ctl/pg_basebackup/pg_rewind: configured, newest system one, or on PATH."""
    if configured is not None:
        if not (configured / "pg_ctl").is_file():
            raise ConfigError(
                f"db.ha.bin_dir {configured} has no pg_ctl",
                fix="point db.ha.bin_dir at PostgreSQL's bin directory, or leave it out to search for one",
            )
        return configured
    candidates = sorted((p.parent for p in _SYSTEM_ROOT.glob("*/bin/pg_ctl")), key=lambda p: _version_key(p / "x"))
    if candidates:
        return candidates[-1]
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        return Path(on_path).resolve().parent
    raise ConfigError(
        "no PostgreSQL server binaries found (looked for pg_ctl under /usr/lib/postgresql/*/bin and on PATH)",
        fix="install the PostgreSQL server package (e.g. apt-get install postgresql) or set db.ha.bin_dir",
    )


@dataclass(frozen=True)
class PgRunner:
    """Runs PostgreSQL tools from ``bin_dir`` as ``os_user`` when the caller is root, else as the caller."""

    bin_dir: Path
    os_user: str

    @property
    def as_other_user(self) -> bool:
        """Whether tools run under another uid (finpilot is root)."""
        return os.geteuid() == 0

    def _ids(self) -> tuple[int, int] | None:
        if not self.as_other_user:
            return None
        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            raise ConfigError(
                f"db.ha.os_user {self.os_user!r} does not exist; PostgreSQL cannot run as root",
                fix="create that user (the postgresql package creates `postgres`) or set db.ha.os_user",
            ) from None
        return entry.pw_uid, entry.pw_gid

    def own(self, path: Path) -> None:
        """Give ``path`` to the OS user PostgreSQL runs as (no-op unless root)."""
        ids = self._ids()
        if ids is not None:
            os.chown(path, *ids)

    def run(
        self, tool: str, *args: str, timeout_s: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one tool and return its result; raise :class:`StorageError` with its stderr when it fails."""
        ids = self._ids()
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
        if ids is not None:
            env["HOME"] = pwd.getpwuid(ids[0]).pw_dir
        try:
            result = subprocess.run(
                [str(self.bin_dir / tool), *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                cwd="/",
                user=ids[0] if ids else None,
                group=ids[1] if ids else None,
                extra_groups=[] if ids else None,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StorageError(
                f"{tool} did not finish within {timeout_s:g} s", fix="see the server log next to the data directory"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot run {tool}: {exc.strerror or exc}", fix="check db.ha.bin_dir") from None
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()[-_STDERR_CHARS:]
            raise StorageError(
                f"{tool} failed (exit {result.returncode}): {detail}",
                fix="see the message above and the server log next to the data directory",
            )
        return result

    def can_write(self, path: Path) -> bool:
        """Whether the OS user can create files in ``path`` (every parent must be searchable by it)."""
        if not self.as_other_user:
            return os.access(path, os.W_OK | os.X_OK)
        ids = self._ids()
        assert ids is not None
        result = subprocess.run(
            ["/usr/bin/test", "-w", str(path), "-a", "-x", str(path)],
            user=ids[0],
            group=ids[1],
            extra_groups=[],
            check=False,
            cwd="/",
        )
        return result.returncode == 0
