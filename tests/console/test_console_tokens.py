"""API tokens: format, hashing at rest, roles, revocation, both backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from finpilot.console import TokenStore, open_token_store
from finpilot.console._roles import ROLES
from finpilot.console._token_backend import TokenBackend
from finpilot.console._tokens import TOKEN_CACHE_TTL_S, Principal
from finpilot.console._tokens_sqlite import SQLiteTokenBackend
from finpilot.core import AuthError, FakeClock, InputError, NotFoundError, Settings, StorageSettings

TOKEN = re.compile(r"fp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def test_create_returns_the_token_once_and_it_authenticates(tokens: TokenStore) -> None:
    info, text = tokens.create("ci-pipeline", "operator")
    assert TOKEN.fullmatch(text)
    assert text.startswith(f"fp_{info.id}_")
    assert (info.name, info.role, info.active, info.last_used_at) == ("ci-pipeline", "operator", True, None)
    principal = tokens.authenticate(text)
    assert principal == Principal(token_id=info.id, name="ci-pipeline", role="operator")
    assert principal.actor == "token:ci-pipeline"
    assert "token" not in info.to_json()


def test_secret_never_reaches_the_database_files(tokens: TokenStore, settings: Settings) -> None:
    _info, text = tokens.create("alice", "admin")
    secret = text.split("_", 2)[2]
    tokens.authenticate(text)
    files = list(settings.data_dir.glob("finpilot.db*"))
    assert files, "the token table lives in the ledger's database file"
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data
        assert text.encode() not in data


@pytest.mark.parametrize(
    "token",
    [None, "", "nonsense", "fp_zzzzzzzz_" + "a" * 43, "fp_0123abcd_" + "a" * 42, "Bearer fp_0123abcd_" + "a" * 43],
)
def test_missing_or_malformed_tokens_are_refused(tokens: TokenStore, token: str | None) -> None:
    with pytest.raises(AuthError) as caught:
        tokens.authenticate(token)
    if token:
        assert token not in str(caught.value)


def test_unknown_and_wrong_secret_look_the_same(tokens: TokenStore) -> None:
    info, text = tokens.create("bob", "viewer")
    wrong_secret = f"fp_{info.id}_{'A' * 43}"
    unknown_id = f"fp_{'0' * 8 if info.id != '0' * 8 else '1' * 8}_{text.split('_', 2)[2]}"
    messages = set()
    for token in (wrong_secret, unknown_id):
        with pytest.raises(AuthError) as caught:
            tokens.authenticate(token)
        assert token not in caught.value.message
        messages.add(caught.value.message)
    assert len(messages) == 1


def test_revoked_tokens_stop_working(tokens: TokenStore) -> None:
    info, text = tokens.create("carol", "auditor")
    assert tokens.count_active() == 1
    revoked = tokens.revoke(info.id)
    assert not revoked.active
    assert revoked.revoked_at is not None
    assert tokens.revoke(info.id) == revoked, "revoking twice is harmless and keeps the first time"
    assert tokens.count_active() == 0
    with pytest.raises(AuthError, match="revoked"):
        tokens.authenticate(text)
    with pytest.raises(NotFoundError):
        tokens.revoke("0badf00d" if info.id != "0badf00d" else "0badf00e")
    with pytest.raises(NotFoundError):
        tokens.revoke("not-an-id")


@pytest.mark.parametrize(
    ("name", "role", "field"),
    [
        ("", "viewer", "name"),
        ("has space", "viewer", "name"),
        ("9starts-with-digit", "viewer", "name"),
        ("x" * 65, "viewer", "name"),
        ("card-4111111111111111", "viewer", "name"),
        ("fp_0123abcd_lookslikeatoken", "viewer", "name"),
        ("dave", "root", "role"),
        ("dave", "", "role"),
    ],
)
def test_bad_name_or_role_is_an_input_error_naming_the_field(
    tokens: TokenStore, name: str, role: str, field: str
) -> None:
    with pytest.raises(InputError) as caught:
        tokens.create(name, role)
    assert caught.value.field == field
    assert tokens.list() == []


def test_names_are_never_reused(tokens: TokenStore) -> None:
    info, _ = tokens.create("erin", "viewer")
    tokens.revoke(info.id)
    with pytest.raises(InputError) as caught:
        tokens.create("erin", "admin")
    assert caught.value.field == "name"


def test_list_shows_every_token_oldest_first(tokens: TokenStore, clock: FakeClock) -> None:
    for role in ROLES:
        tokens.create(f"{role}-x", role)
        clock.advance(1)
    assert [info.role for info in tokens.list()] == list(ROLES)


def test_last_used_is_recorded_at_most_once_a_minute(tokens: TokenStore, clock: FakeClock) -> None:
    info, text = tokens.create("frank", "viewer")
    tokens.authenticate(text)
    first = tokens.get(info.id).last_used_at
    assert first is not None
    clock.advance(30)
    tokens.authenticate(text)
    assert tokens.get(info.id).last_used_at == first
    clock.advance(31)
    tokens.authenticate(text)
    assert tokens.get(info.id).last_used_at != first


def test_a_token_store_and_a_second_one_share_the_table(settings: Settings, tokens: TokenStore) -> None:
    _info, text = tokens.create("grace", "admin")
    with open_token_store(settings) as other:
        assert other.authenticate(text).name == "grace"
        assert other.count_active() == 1


@pytest.mark.postgres
def test_postgres_backend(pg_dsn: str, pg_schema: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", storage=StorageSettings(dsn=pg_dsn, schema_name=pg_schema))
    clock = FakeClock()
    with open_token_store(settings, clock=clock) as store:
        assert pg_schema in store.description
        assert "postgres@" not in store.description, "no DSN (credentials) in descriptions"
        info, text = store.create("pg-user", "auditor")
        assert store.authenticate(text).role == "auditor"
        with pytest.raises(InputError):
            store.create("pg-user", "viewer")
        assert [t.id for t in store.list()] == [info.id]
        assert store.count_active() == 1
        store.revoke(info.id)
        with pytest.raises(AuthError, match="revoked"):
            store.authenticate(text)
        assert store.count_active() == 0
    # Opening again finds the same table in the same schema.
    with open_token_store(settings) as again:
        assert [t.name for t in again.list()] == ["pg-user"]
    assert not (tmp_path / "data" / "finpilot.db").exists(), "with a DSN nothing goes to SQLite"


class _CountingBackend:
    """Wraps a backend and counts row lookups, to tell a database read from a cache hit."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gets = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, token_id: str) -> Any:
        self.gets += 1
        return self.inner.get(token_id)


def _counting_store(settings: Settings, clock: FakeClock, **kwargs: Any) -> tuple[TokenStore, _CountingBackend]:
    backend = _CountingBackend(SQLiteTokenBackend(settings.data_dir / "finpilot.db"))
    return TokenStore(cast(TokenBackend, backend), clock=clock, **kwargs), backend


def test_a_verified_token_is_answered_from_memory_until_the_ttl(settings: Settings, clock: FakeClock) -> None:
    store, backend = _counting_store(settings, clock)
    with store:
        info, text = store.create("henry", "operator")
        assert store.cached(text) is None
        principal = store.authenticate(text)
        for _ in range(5):
            assert store.authenticate(text) == principal
            assert store.cached(text) == principal
        assert backend.gets == 1
        clock.advance(TOKEN_CACHE_TTL_S + 0.001)
        assert store.cached(text) is None
        assert store.authenticate(text) == principal
        assert backend.gets == 2
        # Same id, wrong secret: not a hit, and refused.
        with pytest.raises(AuthError):
            store.authenticate(f"fp_{info.id}_{'B' * 43}")


def test_revoke_takes_effect_at_once_here_and_within_the_ttl_elsewhere(settings: Settings, clock: FakeClock) -> None:
    with open_token_store(settings, clock=clock) as here, open_token_store(settings, clock=clock) as elsewhere:
        info, text = here.create("ivy", "operator")
        here.authenticate(text)
        elsewhere.authenticate(text)
        here.revoke(info.id)
        with pytest.raises(AuthError, match="revoked"):
            here.authenticate(text)
        # Another process learns of the revocation when its remembered answer expires.
        assert elsewhere.authenticate(text).name == "ivy"
        clock.advance(TOKEN_CACHE_TTL_S)
        with pytest.raises(AuthError, match="revoked"):
            elsewhere.authenticate(text)


def test_a_check_racing_a_revoke_is_not_remembered(settings: Settings, clock: FakeClock) -> None:
    store, backend = _counting_store(settings, clock)
    with store:
        info, text = store.create("jack", "operator")
        real_get = backend.inner.get

        def get_then_revoke(token_id: str) -> Any:
            row = real_get(token_id)  # read while still active...
            backend.inner.get = real_get
            store.revoke(info.id)  # ...and revoked before the check finishes
            return row

        backend.inner.get = get_then_revoke
        store.authenticate(text)
        assert store.cached(text) is None
        with pytest.raises(AuthError, match="revoked"):
            store.authenticate(text)


@given(names=st.lists(st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True), min_size=1, max_size=8, unique=True))
@settings_(max_examples=15, deadline=None)
def test_the_cache_never_answers_for_a_token_it_did_not_verify(tmp_path_factory: Any, names: list[str]) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cache"))
    with open_token_store(settings, clock=FakeClock()) as store:
        issued = [store.create(name, "viewer") for name in names]
        for info, text in issued[::2]:
            assert store.authenticate(text).token_id == info.id
        for i, (info, text) in enumerate(issued):
            hit = store.cached(text)
            assert (hit is not None) == (i % 2 == 0)
            assert hit is None or hit.token_id == info.id
            assert store.cached(text[:-1] + ("A" if text[-1] != "A" else "B")) is None


def test_a_zero_ttl_turns_the_cache_off(settings: Settings, clock: FakeClock) -> None:
    store, backend = _counting_store(settings, clock, cache_ttl_s=0)
    with store:
        _info, text = store.create("kate", "viewer")
        store.authenticate(text)
        store.authenticate(text)
        assert store.cached(text) is None
        assert backend.gets == 2
