"""The console: a FastAPI app with the REST API, server-rendered pages, metrics, and API tokens.

Every mutating request is authenticated, checked against the token's role and recorded in
the audit ledger. Typical use::

    from finpilot.audit import open_ledger
    from finpilot.console import open_token_store, serve

    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        serve(settings, ledger, tokens, on_ready=lambda url: ...)

Capabilities add pages with :func:`register_page` and a :class:`NavItem`.
"""

from finpilot.console._app import DEFAULT_PAGES, create_app
from finpilot.console._auth import COOKIE_NAME
from finpilot.console._pages import register_page, render
from finpilot.console._roles import ROLE_PERMISSIONS, ROLES, Permission, Role
from finpilot.console._serve import serve, tcp_nodelay
from finpilot.console._state import NavItem
from finpilot.console._tokens import Principal, TokenInfo, TokenStore, open_token_store

__all__ = [
    "COOKIE_NAME",
    "DEFAULT_PAGES",
    "ROLES",
    "ROLE_PERMISSIONS",
    "NavItem",
    "Permission",
    "Principal",
    "Role",
    "TokenInfo",
    "TokenStore",
    "create_app",
    "open_token_store",
    "register_page",
    "render",
    "serve",
    "tcp_nodelay",
]
