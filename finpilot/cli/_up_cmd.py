"""``finpilot up``: run the web console and REST API until interrupted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from finpilot.audit import Ledger
from finpilot.cli._context import ledger_for, settings_for
from finpilot.cli._output import err, out
from finpilot.cli._token_cmd import issue_token, print_secret, token_store_for

if TYPE_CHECKING:
    from finpilot.console import TokenStore

DEMO_ADMIN_NAME = "demo-admin"
"""Name of the admin token ``up`` creates for a first-time user of the demo settings."""


def demo_token(store: TokenStore, ledger: Ledger) -> str:
    """Create the demo admin token and return its secret."""
    # Token names are never reused, so after the demo token was revoked the next one needs a
    # fresh name: demo-admin, demo-admin-2, ...
    taken = {info.name for info in store.list()}
    name, n = DEMO_ADMIN_NAME, 1
    while name in taken:
        n += 1
        name = f"{DEMO_ADMIN_NAME}-{n}"
    _info, secret = issue_token(store, ledger, name=name, role="admin")
    return secret


def up(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on. Default: console.host.")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="TCP port; 0 picks a free one. Default: console.port.", min=0, max=65535),
    ] = None,
) -> None:
    """Run the web console and REST API; stop with Ctrl+C or SIGTERM."""
    # Imported here, like the token store: FastAPI is slow to import and only `up` needs it.
    from finpilot.console import serve

    settings = settings_for(ctx)
    overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = settings.model_copy(update={"console": settings.console.model_copy(update=overrides)})
    with token_store_for(ctx) as store, ledger_for(ctx) as ledger:
        secret = None
        if settings.console.demo_token and store.count_active() == 0:
            # A first-time user has no way to log in yet; give them one admin token, once.
            secret = demo_token(store, ledger)

        def on_ready(url: str) -> None:
            out().print(Text(f"finpilot console: {url}"), soft_wrap=True)
            if secret is not None:
                out().print("log in with this demo admin token:")
                print_secret(secret)
            err().print("press Ctrl+C to stop")

        serve(settings, ledger, store, on_ready=on_ready)
