"""What the global options decide, and the one helper that turns them into settings.

Settings are loaded lazily, on the first command that needs them: ``config check`` and
``audit verify-export`` must work beside a broken ``finpilot.yaml`` or with no data
directory at all, so nothing is read or created just because the CLI started.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer

from finpilot.audit import Ledger, open_ledger
from finpilot.core import Settings, demo_settings, load_settings

DEFAULT_CONFIG = Path("finpilot.yaml")
"""The config file read from the working directory when ``--config`` is not given."""


@dataclass
class CliState:
    """The global options of one invocation."""

    config: Path | None = None
    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def config_file(self) -> Path | None:
        """The config file in effect: ``--config``, else ``finpilot.yaml`` here if it exists, else none."""
        if self.config is not None:
            return self.config
        return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None

    def source(self) -> str:
        """Where the settings come from, in words."""
        path = self.config_file()
        return str(path) if path is not None else "built-in demo settings (no finpilot.yaml here)"

    def settings(self) -> Settings:
        """The effective settings: the config file (or the demo settings) with ``--data-dir`` applied."""
        if self._settings is None:
            path = self.config_file()
            settings = load_settings(path) if path is not None else demo_settings()
            if self.data_dir is not None:
                settings = settings.model_copy(update={"data_dir": self.data_dir})
            self._settings = settings
        return self._settings


def cli_state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` the root callback stored (a default one when a command runs alone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def settings_for(ctx: typer.Context) -> Settings:
    """The effective settings for this invocation; raises ``ConfigError`` when the file is invalid."""
    return cli_state(ctx).settings()


@contextmanager
def ledger_for(ctx: typer.Context) -> Iterator[Ledger]:
    """Open the ledger the settings name, and close it however the command ends."""
    with open_ledger(settings_for(ctx)) as ledger:
        yield ledger


def cli_actor() -> str:
    """The audit actor for something a person did from the CLI, e.g. ``cli:alice``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        # Containers often run as a uid with no passwd entry and no $USER; still say who.
        user = f"uid{os.getuid()}"
    return f"cli:{user}"
