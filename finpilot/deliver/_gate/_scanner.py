"""The scanner interface, and the one way every adapter starts its program: an argument list, a timeout, no shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from finpilot.deliver._gate._errors import INSTALL_FIX, ScannerError, ScannerMissingError
from finpilot.deliver._gate._finding import RawFinding


@dataclass(frozen=True)
class ScanTarget:
    """What one scanner is asked to read: the root and the files (relative, POSIX) it selected."""

    root: Path
    files: tuple[str, ...]
    out_dir: Path


@dataclass(frozen=True)
class ScanOutcome:
    """An adapter's answer: its findings and, for the dependency audit, which advisory source it used."""

    findings: tuple[RawFinding, ...]
    source: str | None = None


SEARCH_PATH_ENV = "FINPILOT_SCANNER_PATH"
"""When set, the only folders (``os.pathsep``-separated) where scanners are looked for."""


def scanner_search_path() -> str:
    """Where scanners are looked for: ``$FINPILOT_SCANNER_PATH`` if set, else PATH and then this
    interpreter's scripts folder (``pip install 'finpilot[gates]'`` puts them there, activated or not)."""
    override = os.environ.get(SEARCH_PATH_ENV)
    if override is not None:
        return override
    return os.pathsep.join(p for p in (os.environ.get("PATH", ""), sysconfig.get_path("scripts")) if p)


def find_program(name: str) -> str:
    """The scanner's program (see :func:`scanner_search_path`); ``ScannerMissingError`` if absent."""
    path = shutil.which(name, path=scanner_search_path())
    if path is None:
        raise ScannerMissingError(
            f"scanner {name!r} is not installed (not found on PATH)", field="scanners", fix=INSTALL_FIX
        )
    return path


def run_program(
    scanner: str,
    argv: Sequence[str],
    *,
    timeout_s: float,
    ok_codes: Sequence[int],
    cwd: Path | None = None,
    output: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (never through a shell); ``ScannerError`` on a timeout or an exit code not in ``ok_codes``."""
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off", "NO_COLOR": "1"}
    try:
        proc = subprocess.run(  # an argument list of our own, never a shell
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise ScannerError(
            f"scanner {scanner} ran past its {timeout_s:g} s timeout",
            field="timeout_s",
            fix="raise timeout_s in the gate config or scan fewer files",
        ) from None
    except FileNotFoundError:
        raise ScannerMissingError(f"scanner {scanner!r} is not installed", field="scanners", fix=INSTALL_FIX) from None
    if proc.returncode not in ok_codes:
        where = f" (output file {output})" if output is not None else ""
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no message"]
        raise ScannerError(
            f"scanner {scanner} failed with exit code {proc.returncode}{where}: {tail[0][:300]}",
            field="scanners",
            fix=f"run {Path(argv[0]).name} by hand to see why, or disable it in the gate config",
        )
    return proc


class Scanner(ABC):
    """One scanner adapter: which files it reads, and how it runs and parses its tool."""

    name: str
    """The adapter's name in configs, findings and reports (``bandit``, ``semgrep``, ...)."""
    program: str
    """The program it runs, looked up on PATH."""

    @abstractmethod
    def select(self, files: Sequence[str]) -> list[str]:
        """The files (of the root's listing) this scanner reads; they key its cache."""

    def settings_digest(self) -> str:
        """Whatever besides the files changes its answer (rules, config), as one string for the cache key."""
        return ""

    @abstractmethod
    def scan(self, target: ScanTarget, *, timeout_s: float) -> ScanOutcome:
        """Run the tool over ``target`` and parse what it wrote."""

    def version(self, timeout_s: float = 120) -> str:
        """The tool's version as ``--version`` prints it (first line, without the program's name)."""
        argv = [find_program(self.program), "--version"]
        proc = run_program(self.name, argv, timeout_s=timeout_s, ok_codes=(0,))
        lines = (proc.stdout or proc.stderr).strip().splitlines()
        first = lines[0].strip() if lines else "unknown"
        return first.removeprefix(f"{self.program} ").strip()  # "bandit 1.9.4" -> "1.9.4"
