"""Server-rendered pages: login, navigation, home, audit; escaping; nothing loaded from elsewhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from console_helpers import MakeToken, TestClient, refusals
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from finpilot.audit import Entry, Ledger
from finpilot.console._pages import register_page
from finpilot.console._roles import Permission
from finpilot.console._state import NavItem

# Any absolute or protocol-relative URL in an attribute that makes the browser fetch something.
FETCHING_ATTR = re.compile(r"""(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:[a-z]+:)?//""", re.I)
CSS_URL = re.compile(r"""url\(\s*["']?\s*(?:[a-z]+:)?//|@import""", re.I)


def _login(client: TestClient, token: str, next_path: str = "/") -> None:
    response = client.post("/login", data={"token": token, "next": next_path}, headers={"Origin": "http://testserver"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/", "/audit"])
def test_pages_send_strangers_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == "/login"
    assert "next=" in response.headers["location"]


def test_login_form_and_wrong_token(client: TestClient, ledger: Ledger) -> None:
    form = client.get("/login")
    assert form.status_code == 200
    assert 'id="login-form"' in form.text
    wrong = "fp_0123abcd_" + "q" * 43
    response = client.post("/login", data={"token": wrong}, headers={"Origin": "http://testserver"})
    assert response.status_code == 401
    assert 'id="login-error"' in response.text
    assert wrong not in response.text
    assert "finpilot_session" not in client.cookies
    [record] = refusals(client.app, ledger)
    assert record["evidence"]["routes"] == {"POST /login": 1}
    assert wrong.encode() not in ledger.entry(ledger.size - 1).data


def test_login_sets_a_strict_httponly_cookie_and_is_audited(
    client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("viewer")
    response = client.post(
        "/login",
        data={"token": token, "next": "/audit"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/audit"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("finpilot_session=")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    record = ledger.entry(ledger.size - 1).fields
    assert (record["action"], record["actor"], record["outcome"]) == ("POST /login", "token:viewer-user", "303")
    assert token.encode() not in ledger.entry(ledger.size - 1).data


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_never_redirects_off_site(client: TestClient, make_token: MakeToken, target: str) -> None:
    response = client.post(
        "/login",
        data={"token": make_token("viewer"), "next": target},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_logout(client: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    _login(client, make_token("viewer"))
    response = client.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert response.status_code == 303
    assert "finpilot_session" not in client.cookies
    assert ledger.entry(ledger.size - 1).fields["action"] == "POST /logout"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_home_page(client: TestClient, make_token: MakeToken, seeded: list[int]) -> None:
    _login(client, make_token("viewer"))
    page = client.get("/").text
    assert 'id="main-nav"' in page
    assert '<a href="/audit">Audit</a>' in page
    assert '<dd id="ledger-size">' in page
    assert "sqlite:" in page
    assert 'href="/static/console.css"' in page


def test_audit_page_has_entries_checkpoint_and_controls(
    client: TestClient, make_token: MakeToken, ledger: Ledger, seeded: list[int]
) -> None:
    _login(client, make_token("auditor"), "/audit")
    # The login is an audited request; sign it now so no background checkpoint lands between render and check.
    ledger.checkpoint()
    response = client.get("/audit")
    assert response.status_code == 200
    page = response.text
    for marker in (
        'id="entries"',
        'id="checkpoint-note"',
        'id="verify-button"',
        'id="verify-result"',
        'id="export-link"',
        'id="public-key"',
        'aria-current="page"',
    ):
        assert marker in page, marker
    assert page.count('class="proof-link"') >= 3
    assert 'href="/api/v1/audit/proofs/inclusion/0?download=true"' in page
    latest = ledger.latest_checkpoint()
    assert latest is not None
    assert latest.root.hex() in page
    assert ledger.verifier_key() in page
    assert 'id="verify-button" disabled' not in page


def test_a_viewer_sees_verify_disabled_and_no_export(
    client: TestClient, make_token: MakeToken, seeded: list[int]
) -> None:
    _login(client, make_token("viewer"))
    page = client.get("/audit").text
    assert 'id="verify-button" disabled' in page
    assert 'id="export-link"' not in page


def test_everything_from_the_ledger_is_escaped(client: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    ledger.append(Entry(kind="custom.x", actor="<script>alert(1)</script>", action="a&b", subject='"q"', outcome="ok"))
    _login(client, make_token("viewer"))
    page = client.get("/audit").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&amp;b" in page


def test_register_page_extends_the_navigation(app: FastAPI, client: TestClient, make_token: MakeToken) -> None:
    router = APIRouter()

    @router.get("/example")
    def example_page() -> HTMLResponse:
        return HTMLResponse("example")

    register_page(app, NavItem("Example", "/example"), router)
    register_page(app, NavItem("Secrets", "/secrets", Permission.MANAGE_TOKENS))
    _login(client, make_token("viewer"))
    page = client.get("/").text
    assert '<a href="/example">Example</a>' in page
    assert "Secrets" not in page, "items are shown only to roles holding their permission"
    assert client.get("/example").text == "example"


def test_nothing_is_loaded_from_another_origin(client: TestClient, make_token: MakeToken, seeded: list[int]) -> None:
    _login(client, make_token("admin"))
    html_pages = [client.get(path).text for path in ("/", "/audit", "/login")]
    for html in html_pages:
        assert not FETCHING_ATTR.search(html), FETCHING_ATTR.search(html)
        assert "http://" not in html
        assert "https://" not in html
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            response = client.get(asset)
            assert response.status_code == 200, asset
            assert "http://" not in response.text
            assert "https://" not in response.text
            assert not CSS_URL.search(response.text)
    css = client.get("/static/console.css")
    js = client.get("/static/console.js")
    assert css.headers["content-type"].startswith("text/css")
    assert "javascript" in js.headers["content-type"]
