"""The controller API's edge (issue 10, findings 10 and 12): bodies are capped before the token
or the parser sees them, every response (a 500 included) carries the security headers, and
X-Forwarded-For is never believed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server_helpers import stream_body
from starlette.testclient import TestClient

from finpilot.heal._api import ControllerApi
from finpilot.heal._api._app import create_controller_app

TOKEN = "t" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy", "cache-control")


class _Buggy:
    """A controller whose status() has a bug."""

    def status(self) -> dict[str, Any]:
        raise RuntimeError("a bug")


def test_a_server_error_carries_the_security_headers() -> None:
    app = create_controller_app(_Buggy(), TOKEN)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/status", headers=AUTH)
        assert response.status_code == 500
        assert all(name in response.headers for name in HEADERS)
        refused = client.get("/api/v1/status")
        assert refused.status_code == 401
        assert all(name in refused.headers for name in HEADERS)


def test_a_big_body_is_refused_unread_before_the_token_is_checked() -> None:
    app = create_controller_app(_Buggy(), TOKEN, max_body_bytes=4096)  # type: ignore[arg-type]
    huge = (b"x" * 1024 * 1024 for _ in range(300))
    seen = stream_body(app, "/api/v1/spec", huge, {"content-type": "application/json"}, method="PUT")
    assert (seen.status, seen.chunks_read) == (413, 1)
    assert not seen.body_exhausted
    assert all(name in seen.headers for name in HEADERS)
    declared = stream_body(app, "/api/v1/spec", iter([b"{}"]), {"content-length": str(300 * 1024 * 1024)}, method="PUT")
    assert (declared.status, declared.chunks_read) == (413, 0), "413 before the missing token's 401"


def test_x_forwarded_for_is_never_believed(tmp_path: Path) -> None:
    api = ControllerApi(_Buggy(), tmp_path)  # type: ignore[arg-type]
    try:
        assert api._server.config.proxy_headers is False
    finally:
        api.stop()
