"""API tokens: bearer tokens with scopes, created once, shown once, stored only as a hash.

A token reads ``pay_<8 hex id>_<43-char urlsafe secret>``. The id finds the row in
``api_tokens``; the secret is 32 random bytes, so one SHA-256 is the right hash (nothing to
brute-force that a slow hash would protect) and the comparison is constant-time. The same
properties as finpilot's console tokens, in code of this service's own (it imports nothing
from finpilot).

Scopes (:data:`SCOPES`): ``accounts:write`` opens customer and merchant accounts and freezes
or unfreezes them; ``payments:authorize`` tokenises cards and authorizes; ``payments:capture``
captures and refunds; ``admin`` implies every scope and alone may open settlement accounts and
make transfers (a transfer moves money with no card and no decision). Any valid token reads.

A bootstrap token (``PAYMENTS_BOOTSTRAP_TOKEN``, from a secret reference) has ``admin``; it is
held in memory as its SHA-256 only, for a launcher that mints its own token at start.

A verified token is remembered for :data:`TOKEN_CACHE_TTL_S`, keyed by the SHA-256 of the whole
token, so a busy client costs one database read per TTL. :meth:`TokenStore.revoke` forgets it
here at once; a revocation made by another process (the ``tokens`` command) takes effect here
at most the TTL later.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from finpilot_payments._db import Database
from finpilot_payments._errors import AuthenticationError, InputError, NotFoundError, ScopeError

SCOPES = ("accounts:write", "payments:authorize", "payments:capture", "admin")
"""Every scope a token may have; ``admin`` implies the others."""
ADMIN = "admin"
TOKEN_CACHE_TTL_S = 5.0
"""How long a verified token is answered from memory: the most a revocation made elsewhere can lag."""
MIN_BOOTSTRAP_LENGTH = 32
"""A bootstrap token shorter than this is refused at start (``secrets.token_urlsafe(32)`` is 43)."""

_TOKEN = re.compile(r"pay_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._@-]{0,63}")
_CACHE_SIZE = 1024
# Compared against when the id is unknown, so unknown and wrong tokens take the same path.
_DUMMY_DIGEST = hashlib.sha256(b"finpilot_payments/no-such-token").hexdigest()
_ASK = "send 'Authorization: Bearer <token>'; an admin creates tokens with `python -m finpilot_payments tokens create`"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: a token's name and scopes."""

    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        """Whether the token grants ``scope`` (``admin`` grants all)."""
        return scope in self.scopes or ADMIN in self.scopes

    def require(self, scope: str, what: str) -> None:
        """Raise :class:`ScopeError` naming ``scope`` unless the token grants it."""
        if not self.has(scope):
            raise ScopeError(
                f"{what} needs the '{scope}' scope, which this token lacks",
                scope=scope,
                fix=f"use a token with the '{scope}' scope",
            )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: everything but its secret."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "active": self.revoked_at is None,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes, deduplicated in :data:`SCOPES` order; :class:`InputError` on an unknown or missing one."""
    given = set(scopes)
    unknown = given - set(SCOPES)
    if unknown or not given:
        raise InputError(
            "'scope' must be one or more of " + ", ".join(SCOPES), field="scope", fix="e.g. --scope payments:authorize"
        )
    return tuple(s for s in SCOPES if s in given)


class TokenStore:
    """Create, list, revoke and check API tokens kept in the service's database. Thread-safe."""

    def __init__(
        self,
        db: Database,
        *,
        bootstrap: str | None = None,
        cache_ttl_s: float = TOKEN_CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._bootstrap = None if bootstrap is None else _digest(bootstrap)
        self._ttl = cache_ttl_s
        self._clock = clock
        # sha256(token) -> (principal, valid until). Only successes are kept: a wrong or
        # revoked token always takes the full path. Bounded; the oldest entry goes first.
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._revokes = 0

    def create(self, name: str, scopes: Iterable[str], now: str) -> tuple[TokenInfo, str]:
        """A new token: its info and its text, which is never retrievable again. Names are never reused."""
        if not _NAME.fullmatch(name):
            raise InputError(
                "'name' must be 1-64 characters: a letter, then letters, digits, '.', '_', '@' or '-'",
                field="name",
                fix="e.g. --name traffic-generator",
            )
        checked = check_scopes(scopes)
        secret = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        with self._db.write() as tx:
            if tx.one("SELECT 1 FROM api_tokens WHERE name = ?", (name,)) is not None:
                raise InputError(f"a token named '{name}' exists or existed", field="name", fix="choose another name")
            while tx.one("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)) is not None:
                token_id = secrets.token_hex(4)
            tx.run(
                "INSERT INTO api_tokens (id, name, scopes, secret_sha256, created_at, revoked_at) "
                "VALUES (?, ?, ?, ?, ?, NULL)",
                (token_id, name, " ".join(checked), _digest(secret), now),
            )
        return TokenInfo(token_id, name, checked, now, None), f"pay_{token_id}_{secret}"

    def list(self) -> builtins.list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        with self._db.read() as tx:
            rows = tx.all("SELECT id, name, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at, id")
        return [TokenInfo(r[0], r[1], tuple(r[2].split()), r[3], r[4]) for r in rows]

    def revoke(self, token_id: str, now: str) -> TokenInfo:
        """Revoke a token (idempotent); :class:`NotFoundError` when there is none with that id."""
        with self._db.write() as tx:
            if tx.one("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)) is None:
                raise NotFoundError(f"no token with id '{token_id}'", field="id", fix="see `tokens list`")
            tx.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id))
        with self._lock:
            self._revokes += 1
            self._cache.clear()
        return next(info for info in self.list() if info.id == token_id)

    def cached(self, token: str | None) -> Principal | None:
        """The principal of a token verified within the TTL, from memory; ``None``: ask :meth:`authenticate`."""
        if not token:
            return None
        key = _digest(token)
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._cache[key]
                return None
            return found[0]

    def authenticate(self, token: str | None) -> Principal:
        """The principal a token stands for; :class:`AuthenticationError` (never holding the token) otherwise."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        if not token:
            raise AuthenticationError("no API token was given", field="Authorization", fix=_ASK)
        digest = _digest(token)
        if self._bootstrap is not None and hmac.compare_digest(digest, self._bootstrap):
            return Principal("bootstrap", frozenset({ADMIN}))
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise AuthenticationError("the API token is not valid", field="Authorization", fix=_ASK)
        token_id, secret = match.groups()
        revokes = self._revokes
        with self._db.read() as tx:
            row = tx.one("SELECT name, scopes, secret_sha256, revoked_at FROM api_tokens WHERE id = ?", (token_id,))
        ok = hmac.compare_digest(_digest(secret), row[2] if row is not None else _DUMMY_DIGEST)
        if row is None or not ok or row[3] is not None:
            raise AuthenticationError("the API token is not valid or was revoked", field="Authorization", fix=_ASK)
        principal = Principal(str(row[0]), frozenset(str(row[1]).split()) & set(SCOPES))
        with self._lock:
            if revokes == self._revokes and self._ttl > 0:
                self._cache[digest] = (principal, self._clock() + self._ttl)
                while len(self._cache) > _CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
        return principal
