"""``python -m finpilot_payments tokens create|list|revoke``: the service's API tokens, in its own database.

``create`` prints the token once, alone on stdout (for a script to capture into a secret
store), and what was created on stderr; the database keeps only its SHA-256. ``list`` prints
one JSON object a line, never a secret. A revocation reaches running replicas within
:data:`~finpilot_payments._auth.TOKEN_CACHE_TTL_S` seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from finpilot_payments._auth import SCOPES, TokenStore
from finpilot_payments._errors import PaymentsError
from finpilot_payments._open import open_database
from finpilot_payments._service import utc_now
from finpilot_payments._settings import PaymentsSettings


def _parser() -> argparse.ArgumentParser:
    # The database options go before or after the command (SUPPRESS: a later level leaves an earlier one's value).
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="SQLite's directory")
    where.add_argument("--dsn", default=argparse.SUPPRESS, help="PostgreSQL DSN instead of SQLite (env PAYMENTS_DSN)")
    where.add_argument("--schema", dest="schema_name", default=argparse.SUPPRESS, help="PostgreSQL schema")
    parser = argparse.ArgumentParser(
        prog="python -m finpilot_payments tokens", description="Manage API tokens.", parents=[where]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a token and print it once", parents=[where])
    create.add_argument("--name", required=True, help="unique for good, e.g. traffic-generator")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES, help="repeat for several")
    commands.add_parser("list", help="every token, without secrets", parents=[where])
    revoke = commands.add_parser("revoke", help="revoke a token by id", parents=[where])
    revoke.add_argument("id")
    return parser


def tokens_main(argv: Sequence[str]) -> int:
    """Run one ``tokens`` command; exit status 2 on a refused one."""
    args = _parser().parse_args(argv)
    overrides = {k: getattr(args, k, None) for k in ("data_dir", "dsn", "schema_name")}
    try:
        db = open_database(PaymentsSettings.from_env(**overrides))
        try:
            store, now = TokenStore(db), utc_now().isoformat()
            if args.command == "create":
                info, token = store.create(args.name, args.scope, now)
                scopes = " ".join(info.scopes)
                print(f"created token {info.id} ({info.name}: {scopes}); it is shown once", file=sys.stderr)
                print(token, flush=True)
            elif args.command == "list":
                for info in store.list():
                    print(json.dumps(info.to_json()))
            else:
                print(json.dumps(store.revoke(args.id, now).to_json()))
        finally:
            db.close()
    except PaymentsError as exc:
        print(f"error: {exc.message}" + (f" ({exc.fix})" if exc.fix else ""), file=sys.stderr)
        return 2
    return 0
