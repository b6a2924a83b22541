"""finpilot's reference payments service: a double-entry ledger behind a FastAPI app.

Accounts, tokenised cards, ``authorize``/``capture``/``refund``/``transfer`` with idempotency
keys, on SQLite or PostgreSQL, asking a :class:`DecisionClient` before each authorization.
It is a separate application that finpilot runs and guards: it imports nothing from finpilot.
"""

from finpilot_payments._app import create_app
from finpilot_payments._auth import SCOPES, Principal, TokenInfo, TokenStore
from finpilot_payments._card import TokenisedCard, luhn_ok, tokenise
from finpilot_payments._db import Database
from finpilot_payments._decision import AllowAllDecider, CallableDecider, Decision, DecisionClient, PaymentContext
from finpilot_payments._errors import (
    AccountFrozenError,
    AuthenticationError,
    CardError,
    ConflictError,
    IdempotencyConflictError,
    InputError,
    InsufficientFundsError,
    NotFoundError,
    PaymentRefusedError,
    PaymentsError,
    ScopeError,
    StorageError,
)
from finpilot_payments._http_decider import HttpDecider
from finpilot_payments._ledger import LedgerReport
from finpilot_payments._open import make_decider, open_database
from finpilot_payments._serve import main, serve, settle_heap
from finpilot_payments._service import PaymentsService
from finpilot_payments._settings import PaymentsSettings
from finpilot_payments._version import __version__

__all__ = [
    "SCOPES",
    "AccountFrozenError",
    "AllowAllDecider",
    "AuthenticationError",
    "CallableDecider",
    "CardError",
    "ConflictError",
    "Database",
    "Decision",
    "DecisionClient",
    "HttpDecider",
    "IdempotencyConflictError",
    "InputError",
    "InsufficientFundsError",
    "LedgerReport",
    "NotFoundError",
    "PaymentContext",
    "PaymentRefusedError",
    "PaymentsError",
    "PaymentsService",
    "PaymentsSettings",
    "Principal",
    "ScopeError",
    "StorageError",
    "TokenInfo",
    "TokenStore",
    "TokenisedCard",
    "__version__",
    "create_app",
    "luhn_ok",
    "main",
    "make_decider",
    "open_database",
    "serve",
    "settle_heap",
    "tokenise",
]
