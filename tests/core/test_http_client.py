"""The one HTTP client factory: its defaults, its log redaction, and that every client in finpilot comes from it."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from finpilot_payments import HttpDecider

from finpilot.core import HTTP_DEFAULTS, async_http_client, http_client

REPO = Path(__file__).resolve().parents[2]


def pool_of(client: httpx.Client | httpx.AsyncClient) -> Any:
    return client._transport._pool  # type: ignore[union-attr]


def test_timeouts_are_bounded_and_connecting_is_at_most_the_default() -> None:
    with http_client(timeout_s=30) as client:
        assert client.timeout == httpx.Timeout(30, connect=HTTP_DEFAULTS.connect_timeout_s)
    with http_client(timeout_s=0.5) as client:
        assert client.timeout == httpx.Timeout(0.5)  # a shorter call never waits longer to connect


def test_tls_is_verified_with_one_shared_context_and_redirects_are_not_followed() -> None:
    with http_client(timeout_s=5) as one, http_client(timeout_s=5) as two:
        context = pool_of(one)._ssl_context
        assert context is pool_of(two)._ssl_context  # built once per process, not per client
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert not one.follow_redirects


def test_connections_are_kept_alive_and_the_user_agent_is_finpilots() -> None:
    with http_client(timeout_s=5, max_connections=3, headers={"X-Extra": "1"}) as client:
        pool = pool_of(client)
        assert (pool._max_connections, pool._max_keepalive_connections) == (3, 3)
        assert pool._keepalive_expiry == HTTP_DEFAULTS.keepalive_s
        assert client.headers["User-Agent"] == HTTP_DEFAULTS.user_agent
        assert client.headers["X-Extra"] == "1"


def test_the_async_client_has_the_same_defaults() -> None:
    async def check() -> None:
        async with async_http_client(timeout_s=7) as client:
            assert client.timeout == httpx.Timeout(7, connect=HTTP_DEFAULTS.connect_timeout_s)
            assert not client.follow_redirects
            assert pool_of(client)._keepalive_expiry == HTTP_DEFAULTS.keepalive_s

    asyncio.run(check())


def test_logged_urls_keep_scheme_host_and_port_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    with http_client(timeout_s=5, transport=transport) as client:
        client.post("https://hooks.example:8443/services/T0K3N-in-path?key=QU3RY-secret", content=b"{}")
    assert "hooks.example:8443" in caplog.text
    assert "T0K3N" not in caplog.text
    assert "QU3RY" not in caplog.text


def test_the_payments_service_client_repeats_the_factory_defaults() -> None:
    # finpilot_payments may not import finpilot, so it repeats the defaults; this holds them equal.
    decider = HttpDecider("http://127.0.0.1:9", timeout_s=0.5)
    ours = http_client(timeout_s=0.5)
    try:
        theirs = decider._client
        assert theirs.timeout == ours.timeout
        assert theirs.follow_redirects == ours.follow_redirects
        for attr in ("_max_connections", "_max_keepalive_connections", "_keepalive_expiry"):
            assert getattr(pool_of(theirs), attr) == getattr(pool_of(ours), attr)
        assert pool_of(theirs)._ssl_context.verify_mode == ssl.CERT_REQUIRED
    finally:
        decider._client.close()
        ours.close()


# Building a client anywhere but the factory. The payments app keeps its own (it may not import
# finpilot); the chaos drill keeps http.client for CPU (heal/_chaos/_client.py says why).
_BUILDS = re.compile(
    r"httpx\.(?:Async)?Client\(|urllib\.request|http\.client\.HTTPS?Connection\("
    r"|^\s*(?:import|from) (?:aiohttp|requests)\b",
    re.MULTILINE,
)
_ALLOWED = {
    "finpilot/core/_http_client.py",
    "finpilot/heal/_chaos/_client.py",
    "examples/payments/finpilot_payments/_http_decider.py",
}


def test_every_http_client_comes_from_the_factory() -> None:
    found = {
        str(path.relative_to(REPO))
        for tree in ("finpilot", "examples")
        for path in (REPO / tree).rglob("*.py")
        if _BUILDS.search(path.read_text(encoding="utf-8"))
    }
    assert found <= _ALLOWED, f"HTTP clients built outside finpilot.core.http_client: {sorted(found - _ALLOWED)}"
    assert "finpilot/core/_http_client.py" in found  # the pattern still matches what it looks for
