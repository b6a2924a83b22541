"""API tokens: created once, shown once, stored only as a hash.

A token reads ``fp_<8 hex id>_<43-char urlsafe secret>``. The id finds the row; the secret
is 32 random bytes, so a single SHA-256 is the right hash (there is nothing to brute-force
that a slow hash would protect) and the comparison is constant-time.

Verified tokens are remembered for a few seconds (:data:`TOKEN_CACHE_TTL_S`), keyed by the
SHA-256 of the whole token, so a busy API client costs one database read per TTL rather than
one per request. :meth:`TokenStore.revoke` drops the token from this store's memory at once;
a revocation made through another process (another console replica, the CLI) reaches this
one when its remembered entry expires, at most the TTL later.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from finpilot.console._roles import ROLE_PERMISSIONS, ROLES, Permission, Role
from finpilot.console._token_backend import DuplicateTokenError, TokenBackend, TokenRow
from finpilot.core import AuthError, Clock, InputError, IntegrityError, NotFoundError, Settings, rfc3339, utc_now

_TOKEN = re.compile(r"fp_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_TOKEN_ID = re.compile(r"[0-9a-f]{8}")
# The ledger refuses anything shaped like a token or a card number; a name becomes the actor
# of every entry its token causes, so such a name would make every audited request fail.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9._@-]{0,63}$"
"""What a token's name must match (the API's schema declares it too)."""
_NAME = re.compile(NAME_PATTERN)
_TOKENISH = re.compile(r"fp_[0-9a-f]{8}_")
_MAX_NAME_DIGITS = 12
# Writing last_used_at on every request would turn each read into a write; minute precision is plenty.
_TOUCH_EVERY = timedelta(seconds=60)
# Compared against when the id is unknown, so unknown and wrong tokens take the same path.
_DUMMY_DIGEST = hashlib.sha256(b"finpilot/no-such-token").hexdigest()

TOKEN_CACHE_TTL_S = 5.0
"""How long a verified token is answered from memory; the most a revocation made elsewhere can lag."""
_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: an authenticated API token."""

    token_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """The actor recorded in audit entries."""
        return f"token:{self.name}"

    def can(self, permission: Permission) -> bool:
        """Whether this principal's role grants ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token: everything but its secret."""

    id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=_check_stored_role(row.role),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _check_stored_role(role: str) -> Role:
    # A role this version does not know (a newer schema, a hand edit) must not grant anything.
    if role not in ROLES:
        raise IntegrityError(f"a stored token has unknown role '{role}'", fix="revoke it and create a new one")
    return role


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            "token field 'name' must be 1-64 characters: a letter, then letters, digits, '.', '_', '@' or '-'",
            field="name",
            fix="use a name such as ci-pipeline or alice@example.com",
        )
    if _TOKENISH.search(name) or sum(ch.isdigit() for ch in name) > _MAX_NAME_DIGITS:
        raise InputError(
            "token field 'name' looks like a token or a card number; the audit ledger would refuse it",
            field="name",
            fix="use a descriptive name with fewer digits",
        )
    return name


def _check_role(role: object) -> Role:
    if role not in ROLES:
        raise InputError(
            "token field 'role' must be one of " + ", ".join(ROLES),
            field="role",
            fix="viewer reads, auditor verifies and exports, operator appends, admin does everything",
        )
    return role


class TokenStore:
    """Create, list, revoke and check API tokens. Thread-safe; backends are chosen by :func:`open_token_store`."""

    def __init__(
        self, backend: TokenBackend, *, clock: Clock = utc_now, cache_ttl_s: float = TOKEN_CACHE_TTL_S
    ) -> None:
        self._backend = backend
        self._clock = clock
        self._ttl = timedelta(seconds=cache_ttl_s)
        self._caching = cache_ttl_s > 0
        # sha256(token) -> (principal, valid until). Only successes are kept, so a wrong or
        # revoked token always takes the full path; bounded, oldest dropped first.
        self._cache: OrderedDict[bytes, tuple[Principal, datetime]] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Bumped by every revoke: a check that read its row before a revoke must not then
        # remember the token as valid.
        self._revokes = 0

    @property
    def description(self) -> str:
        """Where tokens are kept, with no credentials."""
        return self._backend.description

    def create(self, name: str, role: str) -> tuple[TokenInfo, str]:
        """Create a token; return its info and the token text, which is never retrievable again.

        Names are unique for good, revoked tokens included, so an actor in the ledger always
        means one token. Raises :class:`InputError` naming ``name`` or ``role``.
        """
        name = _check_name(name)
        checked_role = _check_role(role)
        secret = secrets.token_urlsafe(32)
        # 32-bit ids can collide; retry a few times rather than make ids long.
        for _ in range(5):
            row = TokenRow(
                id=secrets.token_hex(4),
                name=name,
                role=checked_role,
                secret_sha256=_digest(secret),
                created_at=rfc3339(self._clock()),
                revoked_at=None,
                last_used_at=None,
            )
            try:
                self._backend.insert(row)
            except DuplicateTokenError as dup:
                if dup.column == "name":
                    raise InputError(
                        f"a token named '{name}' exists or existed; names are never reused",
                        field="name",
                        fix="choose another name",
                    ) from None
                continue
            return _info(row), f"fp_{row.id}_{secret}"
        raise InputError("could not allocate a token id; try again", field="id")  # pragma: no cover

    def list(self) -> builtins.list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        return [_info(row) for row in self._backend.rows()]

    def get(self, token_id: str) -> TokenInfo:
        """One token's info; :class:`NotFoundError` if there is none."""
        row = self._backend.get(token_id) if _TOKEN_ID.fullmatch(token_id) else None
        if row is None:
            raise NotFoundError(f"no token with id '{token_id}'", field="token_id", fix="list tokens to see ids")
        return _info(row)

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token (idempotent) and return its updated info; :class:`NotFoundError` if unknown."""
        self.get(token_id)
        self._backend.set_revoked(token_id, rfc3339(self._clock()))
        self._forget(token_id)
        return self.get(token_id)

    def _forget(self, token_id: str) -> None:
        with self._cache_lock:
            self._revokes += 1
            for key in [key for key, (principal, _) in self._cache.items() if principal.token_id == token_id]:
                del self._cache[key]

    def cached(self, token: str | None) -> Principal | None:
        """The principal of a token verified within the last TTL, from memory; ``None`` means ask
        :meth:`authenticate` (which may read the database). Never raises."""
        if not token or not self._caching:
            return None
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._cache_lock:
            found = self._cache.get(key)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._cache[key]
                return None
            return found[0]

    def authenticate(self, token: str | None) -> Principal:
        """The principal a token stands for; :class:`AuthError` when missing, malformed, unknown or revoked.

        The messages never contain the token. A token verified within the last TTL is answered
        from memory (see :meth:`cached`).
        """
        hit = self.cached(token)
        if hit is not None:
            return hit
        if not token:
            raise AuthError("no API token was given", fix="send 'Authorization: Bearer fp_...' or log in")
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise AuthError("the API token is malformed", fix="tokens look like fp_<8 hex>_<43 characters>")
        token_id, secret = match.groups()
        revokes = self._revokes
        row = self._backend.get(token_id)
        ok = hmac.compare_digest(_digest(secret), row.secret_sha256 if row is not None else _DUMMY_DIGEST)
        if row is None or not ok:
            raise AuthError("the API token is not valid", fix="ask an admin for a token")
        if row.revoked_at is not None:
            raise AuthError(f"API token {token_id} was revoked", fix="ask an admin for a new token")
        now = self._clock()
        if row.last_used_at is None or now - datetime.fromisoformat(row.last_used_at) >= _TOUCH_EVERY:
            self._backend.set_last_used(token_id, rfc3339(now))
        principal = Principal(token_id=row.id, name=row.name, role=_check_stored_role(row.role))
        if self._caching:
            key = hashlib.sha256(token.encode("ascii")).digest()
            with self._cache_lock:
                if revokes != self._revokes:
                    return principal
                self._cache[key] = (principal, now + self._ttl)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return principal

    def count_active(self) -> int:
        """How many tokens are not revoked."""
        return self._backend.count_active()

    def close(self) -> None:
        """Close the backend's connections."""
        self._backend.close()

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_token_store(settings: Settings, *, clock: Clock = utc_now) -> TokenStore:
    """Open the token store the settings name: PostgreSQL when ``storage.dsn`` is set, else SQLite
    in ``data_dir/finpilot.db`` (the ledger's file)."""
    backend: TokenBackend
    if settings.storage.dsn:
        from finpilot.console._tokens_postgres import PostgresTokenBackend

        backend = PostgresTokenBackend(settings.storage.dsn, settings.storage.schema_name)
    else:
        from finpilot.console._tokens_sqlite import SQLiteTokenBackend

        backend = SQLiteTokenBackend(settings.data_dir / "finpilot.db")
    return TokenStore(backend, clock=clock)
