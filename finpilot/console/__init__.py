"""The console: a FastAPI app with the REST API, server-rendered pages, metrics, and API tokens.

Every mutating request is authenticated, checked against the token's role and recorded in
the audit ledger. Typical use::

    from finpilot.audit import open_ledger
    from finpilot.console import open_token_store, serve

    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        serve(settings, ledger, tokens, on_ready=lambda url: ...)

An HTTP fraud scorer process serves :class:`ScorerApp` (:func:`serve_scorer`).

A capability's page is a ``console/_page_*.py`` module, registered in ``console/_app.py``.
"""

from finpilot.console._app import create_app
from finpilot.console._scorer_app import ScorerApp, serve_scorer
from finpilot.console._serve import serve, tcp_nodelay
from finpilot.console._tokens import TokenInfo, TokenStore, open_token_store

__all__ = [
    "ScorerApp",
    "TokenInfo",
    "TokenStore",
    "create_app",
    "open_token_store",
    "serve",
    "serve_scorer",
    "tcp_nodelay",
]
