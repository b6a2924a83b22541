"""``finpilot config``: the JSON Schema of finpilot.yaml, validation, and the effective settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
import yaml

from finpilot.cli._context import cli_state
from finpilot.cli._output import JsonFlag, print_json
from finpilot.core import ConfigError, Settings, load_settings, settings_schema

config_app = typer.Typer(help="Inspect and validate finpilot.yaml.", no_args_is_help=True)
"""The ``config`` command group."""


@config_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of finpilot.yaml (for editors and CI validation)."""
    print_json(settings_schema())


@config_app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Config file to check. Default: --config, else finpilot.yaml in this directory.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate a config file; on error name the field and the line, and exit 2."""
    path = file or cli_state(ctx).config_file()
    if path is None:
        raise ConfigError(
            "no config file to check: finpilot.yaml does not exist here",
            fix="pass FILE or --config, or write finpilot.yaml (see `finpilot config schema`)",
        )
    load_settings(path)
    if as_json:
        print_json({"ok": True, "path": str(path)})
    else:
        typer.echo(f"ok: {path}")


def redact_dsn(dsn: str) -> str:
    """A DSN with its password replaced by ``***``, safe to print."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _public_view(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    dsn = data["storage"].get("dsn")
    if dsn:
        # Config show output ends up in tickets and chat; never let it carry the password.
        data["storage"]["dsn"] = redact_dsn(dsn)
    return data


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Print the effective settings (config file or demo settings, with --data-dir applied)."""
    state = cli_state(ctx)
    data = _public_view(state.settings())
    if as_json:
        print_json(data)
        return
    typer.echo(f"# effective settings from {state.source()}")
    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip("\n"))
