"""Security finding 1 (issue 10): every payments API route needs a bearer token with the right scope."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from finpilot_payments import (
    SCOPES,
    AllowAllDecider,
    AuthenticationError,
    InputError,
    PaymentsSettings,
    TokenStore,
    create_app,
    main,
    open_database,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from payments_helpers import ADMIN_TOKEN, Bank, all_rows_text, bearer, snapshot
from starlette.testclient import TestClient

OPEN_PATHS = {"/healthz", "/readyz", "/metrics"}
"""Probes and the scrape: they show no id, amount, card or token (see finpilot_payments._app)."""


def _client(bank: Bank, token: str | None) -> TestClient:
    client = TestClient(bank.client.app, headers=bearer(token) if token else None)
    return client


def _token(bank: Bank, name: str, *scopes: str) -> str:
    store: TokenStore = bank.client.app.state.tokens  # type: ignore[attr-defined]
    return store.create(name, scopes, "2026-01-01T00:00:00+00:00")[1]


def _post(client: TestClient, path: str, body: object, key: str) -> tuple[int, dict[str, object], str]:
    response = client.post(path, json=body, headers={"Idempotency-Key": key})
    return response.status_code, response.json(), response.headers.get("WWW-Authenticate", "")


def _transfer(source: str, target: str, amount: int) -> dict[str, object]:
    return {"from_account": source, "to_account": target, "amount": amount, "currency": "EUR"}


def test_the_reported_attacks_without_a_token_are_refused_with_401(bank: Bank) -> None:
    f = bank.funded()
    before = snapshot(bank.db)
    anonymous = _client(bank, None)
    attacks = [
        ("/v1/accounts", {"kind": "settlement", "currency": "EUR"}),
        (
            "/v1/transfers",
            {"from_account": f.settlement, "to_account": f.customer, "amount": 10**12, "currency": "EUR"},
        ),
        (
            "/v1/transfers",
            {"from_account": f.customer, "to_account": f.merchant, "amount": 5 * 10**11, "currency": "EUR"},
        ),
        (f"/v1/accounts/{f.customer}/freeze", None),
        (f"/v1/accounts/{f.customer}/unfreeze", None),
        ("/v1/authorizations", {"card_token": f.card, "merchant_id": f.merchant, "amount": 100, "currency": "EUR"}),
    ]
    for n, (path, body) in enumerate(attacks):
        status, error, challenge = _post(anonymous, path, body, f"attack-{n}")
        assert status == 401, (path, error)
        assert challenge.startswith("Bearer")
        assert set(error) == {"error", "message", "field", "fix"}
        assert error["error"] == "AuthenticationError"
        assert error["field"] == "Authorization"
    assert anonymous.get(f"/v1/accounts/{f.customer}").status_code == 401
    assert snapshot(bank.db) == before


@pytest.mark.parametrize(
    ("scopes", "path", "body", "missing"),
    [
        (("accounts:write",), "/v1/authorizations", "authorize", "payments:authorize"),
        (("accounts:write",), "/v1/cards", "card", "payments:authorize"),
        (("payments:authorize",), "/v1/accounts/{customer}/freeze", None, "accounts:write"),
        (("payments:authorize",), "/v1/accounts", {"kind": "customer", "currency": "EUR"}, "accounts:write"),
        (("payments:authorize",), "/v1/authorizations/{auth}/capture", {}, "payments:capture"),
        (("payments:capture",), "/v1/authorizations", "authorize", "payments:authorize"),
        (("accounts:write", "payments:authorize"), "/v1/authorizations/{auth}/refunds", {}, "payments:capture"),
    ],
)
def test_a_token_without_the_scope_is_refused_with_403(
    bank: Bank, scopes: tuple[str, ...], path: str, body: object, missing: str
) -> None:
    f = bank.funded()
    auth = bank.authorize(f.card, f.merchant, 100).json()["id"]
    bodies = {
        "authorize": {"card_token": f.card, "merchant_id": f.merchant, "amount": 100, "currency": "EUR"},
        "card": {"account_id": f.customer, "pan": "4111 1111 1111 1111"},
    }
    client = _client(bank, _token(bank, "narrow", *scopes))
    before = snapshot(bank.db)
    sent = bodies[body] if isinstance(body, str) else body
    status, error, challenge = _post(client, path.format(customer=f.customer, auth=auth), sent, "k")
    assert status == 403
    assert error["error"] == "ScopeError"
    assert f"'{missing}'" in str(error["message"])
    assert f'scope="{missing}"' in challenge
    assert snapshot(bank.db) == before


def test_only_admin_opens_settlement_accounts_and_moves_money(bank: Bank) -> None:
    f = bank.funded()
    other = bank.account("customer")
    everything_but_admin = _client(bank, _token(bank, "operator", *(s for s in SCOPES if s != "admin")))
    before = snapshot(bank.db)
    status, error, _ = _post(everything_but_admin, "/v1/accounts", {"kind": "settlement", "currency": "EUR"}, "s")
    assert (status, error["error"]) == (403, "ScopeError")
    assert "'admin'" in str(error["message"])
    transfers = [(f.customer, other), (f.settlement, f.customer), (f.customer, f.merchant)]
    for n, (source, target) in enumerate(transfers):
        status, error, _ = _post(everything_but_admin, "/v1/transfers", _transfer(source, target, 1), f"t{n}")
        assert (status, error["error"]) == (403, "ScopeError")
    assert snapshot(bank.db) == before
    # The same token does what its scopes allow.
    status, _, _ = _post(everything_but_admin, "/v1/accounts", {"kind": "customer", "currency": "EUR"}, "c")
    assert status == 201
    body = {"card_token": f.card, "merchant_id": f.merchant, "amount": 100, "currency": "EUR"}
    status, auth, _ = _post(everything_but_admin, "/v1/authorizations", body, "a")
    assert status == 201
    assert _post(everything_but_admin, f"/v1/authorizations/{auth['id']}/capture", {}, "p")[0] == 200


def test_any_valid_token_reads(bank: Bank) -> None:
    f = bank.funded()
    reader = _client(bank, _token(bank, "reader", "payments:capture"))
    assert reader.get(f"/v1/accounts/{f.customer}").json()["balance"] == 10_000
    assert reader.get("/v1/ledger/check").json()["balanced"]


def test_tokens_are_stored_hashed_and_the_cli_prints_one_once(
    backend: PaymentsSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_DATA_DIR", str(backend.data_dir))
    for name, value in (("PAYMENTS_DSN", backend.dsn), ("PAYMENTS_SCHEMA", backend.schema_name)):
        if value:
            monkeypatch.setenv(name, value)
    assert main(["tokens", "create", "--name", "pos-terminal", "--scope", "payments:authorize"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("pay_")
    app = create_app(backend, decider=AllowAllDecider())
    with TestClient(app, headers=bearer(token)) as client:
        rows = list(all_rows_text(app.state.service.db))
        secret = token.split("_", 2)[2]
        assert not any(token in row or secret in row for row in rows)
        assert any(hashlib.sha256(secret.encode()).hexdigest() in row for row in rows)
        refused = client.post("/v1/accounts", json={"kind": "customer", "currency": "EUR"})
        assert refused.status_code == 403
    assert main(["tokens", "list"]) == 0
    listed = capsys.readouterr().out
    assert "pos-terminal" in listed
    assert secret not in listed


def test_a_revoked_token_is_refused_and_no_token_reaches_a_log_or_a_body(
    bank: Bank, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store: TokenStore = bank.client.app.state.tokens  # type: ignore[attr-defined]
    info, token = store.create("doomed", ["accounts:write"], "2026-01-01T00:00:00+00:00")
    client = _client(bank, token)
    assert _post(client, "/v1/accounts", {"kind": "customer", "currency": "EUR"}, "1")[0] == 201
    store.revoke(info.id, "2026-01-02T00:00:00+00:00")
    texts = []
    for attempt in (token, token[:-1] + ("A" if token[-1] != "A" else "B"), "pay_00000000_" + "x" * 43, "junk"):
        response = _client(bank, attempt).post(
            "/v1/accounts", json={"kind": "customer", "currency": "EUR"}, headers={"Idempotency-Key": "2"}
        )
        assert response.status_code == 401
        texts.append(response.text + repr(response.headers))
    for secret in (token, token.split("_", 2)[2], ADMIN_TOKEN):
        assert secret not in caplog.text
        assert not any(secret in text for text in texts)


@pytest.fixture(scope="module")
def lone_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenStore]:
    """A token store with one real token in it, on SQLite (module-scoped, for hypothesis)."""
    db = open_database(PaymentsSettings(data_dir=tmp_path_factory.mktemp("tokens")))
    store = TokenStore(db, bootstrap=ADMIN_TOKEN)
    store.create("the-one", ["admin"], "2026-01-01T00:00:00+00:00")
    yield store
    db.close()


@given(token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80))
@settings(max_examples=200, deadline=None)
def test_no_other_string_is_a_token_and_no_refusal_repeats_it(lone_store: TokenStore, token: str) -> None:
    store = lone_store
    if token == ADMIN_TOKEN:
        return
    with pytest.raises(AuthenticationError) as refused:
        store.authenticate(token)
    # The refusal is one of a few fixed sentences whatever was sent (none given, malformed, unknown),
    # so nothing that was sent can be repeated back.
    fixed = set()
    for reference in ("", "not-a-token", "pay_00000000_" + "A" * 43):
        with pytest.raises(AuthenticationError) as known:
            store.authenticate(reference)
        fixed.add((known.value.message, known.value.fix))
    assert (refused.value.message, refused.value.fix) in fixed


def test_every_api_route_refuses_without_a_token(sqlite_settings: PaymentsSettings) -> None:
    """Walks every operation of the app's own OpenAPI, so a route added later without a token check fails here."""
    app = create_app(sqlite_settings, decider=AllowAllDecider())
    spec = app.openapi()
    scheme = spec["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        if path not in OPEN_PATHS
        for method, operation in item.items()
    ]
    assert len(operations) >= 11
    assert set(spec["paths"]) - OPEN_PATHS == {p for _, p, _ in operations}
    with TestClient(app) as client:
        for method, path, operation in operations:
            assert operation["security"] == [{"HTTPBearer": []}], path
            assert {"401", "403"} <= set(operation["responses"]), path
            concrete = path.replace("{", "").replace("}", "")  # any value for a path parameter
            for headers in ({}, bearer("not-a-token"), {"Authorization": f"Basic {ADMIN_TOKEN}"}):
                response = client.request(method, concrete, json={}, headers={"Idempotency-Key": "k", **headers})
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for path in OPEN_PATHS:
            assert client.get(path).status_code == 200


def test_a_weak_or_shared_bootstrap_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as short:
        PaymentsSettings.from_env({"PAYMENTS_BOOTSTRAP_TOKEN": "hunter2"})
    assert "hunter2" not in short.value.message
    path = tmp_path / "token"
    path.write_text(ADMIN_TOKEN)
    path.chmod(0o644)
    with pytest.raises(InputError, match="readable by group or others"):
        PaymentsSettings.from_env({"PAYMENTS_BOOTSTRAP_TOKEN_FILE": str(path)})
    path.chmod(0o600)
    assert PaymentsSettings.from_env({"PAYMENTS_BOOTSTRAP_TOKEN_FILE": str(path)}).bootstrap_token == ADMIN_TOKEN
    assert ADMIN_TOKEN not in repr(PaymentsSettings(bootstrap_token=ADMIN_TOKEN))
