"""The payments service's edge (issue 10, findings 10 and 12): bodies are capped before routing
or parsing, every response (a 500 included) carries the security headers, and X-Forwarded-For
is believed only from the proxies named in PAYMENTS_TRUSTED_PROXIES."""

from __future__ import annotations

import dataclasses

import pytest
from finpilot_payments import InputError, PaymentsSettings, create_app
from server_helpers import server_error, stream_body
from starlette.testclient import TestClient

HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy", "cache-control")


def test_a_server_error_carries_the_security_headers(sqlite_settings: PaymentsSettings) -> None:
    response = server_error(create_app(sqlite_settings))
    assert response.status_code == 500
    assert all(name in response.headers for name in HEADERS)


def test_a_big_body_is_refused_unread(sqlite_settings: PaymentsSettings) -> None:
    app = create_app(dataclasses.replace(sqlite_settings, max_body_bytes=4096))
    with TestClient(app):  # opens and closes the database
        huge = (b"x" * 1024 * 1024 for _ in range(300))
        seen = stream_body(app, "/v1/accounts", huge, {"content-type": "application/json"})
        assert (seen.status, seen.chunks_read) == (413, 1)
        assert not seen.body_exhausted
        assert all(name in seen.headers for name in HEADERS)
        declared = stream_body(app, "/v1/accounts", iter([b"{}"]), {"content-length": str(300 * 1024 * 1024)})
        assert (declared.status, declared.chunks_read) == (413, 0)


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(sqlite_settings: PaymentsSettings) -> None:
    from finpilot_payments._serve import uvicorn_config

    app = create_app(sqlite_settings)
    assert uvicorn_config(app, sqlite_settings).proxy_headers is False
    env = {"PAYMENTS_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16", "PAYMENTS_MAX_BODY_BYTES": "2048"}
    trusted = PaymentsSettings.from_env(env, data_dir=sqlite_settings.data_dir)
    assert (trusted.trusted_proxies, trusted.max_body_bytes) == (("10.0.0.5", "10.1.0.0/16"), 2048)
    config = uvicorn_config(app, trusted)
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16"]
    with pytest.raises(InputError) as caught:
        PaymentsSettings.from_env({"PAYMENTS_TRUSTED_PROXIES": "proxy.local"})
    assert caught.value.field == "PAYMENTS_TRUSTED_PROXIES"
