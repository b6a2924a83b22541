"""``finpilot token``: create, list and revoke console API tokens; every change is audited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.text import Text

from finpilot.audit import Entry, Ledger
from finpilot.audit.kinds import CONSOLE_TOKEN
from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, err, out, print_json, table

if TYPE_CHECKING:
    from finpilot.console import TokenInfo, TokenStore

token_app = typer.Typer(help="Console API tokens: create (shown once), list, revoke.", no_args_is_help=True)
"""The ``token`` command group."""


@contextmanager
def token_store_for(ctx: typer.Context) -> Iterator[TokenStore]:
    """Open the token store the settings name, and close it however the command ends."""
    # Imported here: the console brings FastAPI, a quarter of a second that every other
    # command would pay at start-up for nothing.
    from finpilot.console import open_token_store

    store = open_token_store(settings_for(ctx))
    try:
        yield store
    finally:
        store.close()


def _token_entry(action: str, info: TokenInfo) -> Entry:
    # Role and name only: the secret must never reach the ledger (which would refuse it anyway).
    return CONSOLE_TOKEN.entry(
        actor=cli_actor(),
        action=action,
        subject=f"token:{info.id}",
        outcome="ok",
        evidence={"role": info.role, "name": info.name},
    )


def issue_token(store: TokenStore, ledger: Ledger, *, name: str, role: str) -> tuple[TokenInfo, str]:
    """Create a token and audit its creation; return its info and its secret text."""
    info, secret = store.create(name=name, role=role)
    try:
        ledger.append(_token_entry("create", info))
    except BaseException:
        # A token nobody can account for must not stay usable: take it back, then report.
        store.revoke(info.id)
        raise
    return info, secret


def print_secret(secret: str) -> None:
    """Show a token's secret once, with the warning that it cannot be shown again."""
    out().print(Text(secret), soft_wrap=True)
    err().print("[yellow]warning:[/] store this token now; finpilot keeps only its hash and cannot show it again")


@token_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="Role to grant: viewer, auditor, operator or admin.")],
    name: Annotated[str, typer.Option(help="Unique name; it becomes the actor of what the token does.")],
    as_json: JsonFlag = False,
) -> None:
    """Create an API token and print it once; it cannot be shown again."""
    with token_store_for(ctx) as store, ledger_for(ctx) as ledger:
        info, secret = issue_token(store, ledger, name=name, role=role)
    if as_json:
        print_json({"id": info.id, "name": info.name, "role": info.role, "token": secret})
        err().print("[yellow]warning:[/] this token cannot be shown again")
        return
    out().print(f"created token {info.id} ({escape(info.name)}, role {info.role}):")
    print_secret(secret)


@token_app.command("list")
def list_tokens(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List every token, revoked ones included (never the secrets)."""
    with token_store_for(ctx) as store:
        tokens = store.list()
    if as_json:
        print_json({"tokens": [info.to_json() for info in tokens]})
        return
    grid = table("id", "name", "role", "state", "created at", "last used", title="API tokens")
    for info in tokens:
        state = "active" if info.active else f"revoked {info.revoked_at}"
        grid.add_row(info.id, Text(info.name), info.role, state, info.created_at, info.last_used_at or "never")
    out().print(grid)


@token_app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (see `finpilot token list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: it stops working at once. Revoking twice is harmless."""
    with token_store_for(ctx) as store, ledger_for(ctx) as ledger:
        # Revoke first, then record: if the ledger fails, a token someone asked to kill must
        # still die; the error then tells them the record is missing.
        info = store.revoke(token_id)
        ledger.append(_token_entry("revoke", info))
    if as_json:
        print_json(info.to_json())
    else:
        out().print(f"revoked token {info.id} ({escape(info.name)})")
