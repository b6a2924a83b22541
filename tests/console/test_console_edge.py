"""The console's edge (issue 10, findings 4, 10 and 12): refused requests are rate-limited and
summarised instead of flooding the ledger, bodies are capped before anything reads them, every
response carries the security headers, and X-Forwarded-For is believed only from a trusted proxy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_helpers import MakeToken, TestClient, bearer, console_entries, refusals, running_server, sample_entry
from fastapi import FastAPI
from server_helpers import serve_in_thread, server_error, stream_body

from finpilot.audit import Ledger, open_ledger
from finpilot.console import TokenStore, create_app, open_token_store
from finpilot.core import ConsoleSettings, FakeClock, Settings

ORIGIN = {"Origin": "http://testserver"}
WRONG = "fp_0123abcd_" + "q" * 43
MIB = 1024 * 1024
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture
def limited(settings: Settings, ledger: Ledger, tokens: TokenStore, clock: FakeClock) -> FastAPI:
    """A console whose refusal limits and windows run on the fake clock: burst 10, 1/s, 60 s windows."""
    console = ConsoleSettings.model_validate({"auth_failures": {"burst": 10, "rate_per_s": 1, "window_s": 60}})
    return create_app(
        settings.model_copy(update={"console": console}), ledger, tokens, clock=clock, monotonic=clock.monotonic
    )


@pytest.fixture
def stranger(limited: FastAPI) -> Iterator[TestClient]:
    """A client at 10.0.0.66."""
    with TestClient(limited, base_url="http://testserver", client=("10.0.0.66", 50000)) as test_client:
        yield test_client


def _bad_login(client: TestClient) -> httpx.Response:
    return client.post("/login", data={"token": WRONG}, headers=ORIGIN)


def test_300_bad_logins_cost_one_summary_entry_and_later_ones_are_429(
    limited: FastAPI, stranger: TestClient, ledger: Ledger, clock: FakeClock
) -> None:
    statuses = [_bad_login(stranger).status_code for _ in range(300)]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    limited_reply = _bad_login(stranger)
    assert limited_reply.status_code == 429
    assert limited_reply.headers["retry-after"] == "1"
    assert limited_reply.json()["error"] == "RateLimitedError"
    assert ledger.size == 0, "nothing is appended per refusal"

    clock.advance(1)  # one refusal regained
    assert [_bad_login(stranger).status_code for _ in range(2)] == [401, 429]

    clock.advance(60)  # the window has ended: the next request (anyone's) writes its summary
    assert stranger.get("/healthz").status_code == 200
    [summary] = console_entries(ledger, "console.refusals")
    assert ledger.size == 1
    assert (summary["subject"], summary["outcome"]) == ("client:10.0.0.66", "limited")
    evidence = summary["evidence"]
    assert (evidence["refused_401"], evidence["refused_403"], evidence["limited_429"]) == (11, 0, 292)
    assert evidence["routes"] == {"POST /login": 11}
    assert (evidence["window_s"], evidence["window_start"]) == (60, "2026-01-01T00:00:00.000000Z")
    assert WRONG.encode() not in ledger.entry(0).data

    metrics = stranger.get("/metrics").text
    assert 'finpilot_console_refusals_total{status="401"} 11.0' in metrics
    assert 'finpilot_console_refusals_total{status="429"} 292.0' in metrics


def test_a_successful_request_is_unaffected(
    limited: FastAPI, stranger: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    for _ in range(50):
        _bad_login(stranger)
    with TestClient(limited, base_url="http://testserver", client=("10.0.0.7", 50000)) as colleague:
        token = make_token("admin")
        for _ in range(30):  # far more than the burst: successes spend nothing
            response = colleague.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(token))
            assert response.status_code == 201, response.text
    assert len(console_entries(ledger)) == 30, "each success is audited as before"
    assert [r["subject"] for r in refusals(limited, ledger)] == ["client:10.0.0.66"]


def test_the_summary_counts_each_kind_of_refusal(
    limited: FastAPI, stranger: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    viewer = bearer(make_token("viewer"))
    for _ in range(3):
        assert stranger.post("/api/v1/audit/entries", json=sample_entry(), headers=viewer).status_code == 403
    for _ in range(4):
        assert stranger.get("/api/v1/audit/entries", headers=bearer(WRONG)).status_code == 401
    for _ in range(3):
        assert _bad_login(stranger).status_code == 401
    assert _bad_login(stranger).status_code == 429
    [summary] = refusals(limited, ledger)
    evidence = summary["evidence"]
    assert (evidence["refused_401"], evidence["refused_403"], evidence["limited_429"]) == (7, 3, 1)
    assert evidence["routes"] == {"POST /api/v1/audit/entries": 3, "GET /api/v1/audit/entries": 4, "POST /login": 3}
    assert evidence["actors"] == ["token:viewer-user"]


@pytest.mark.slow
def test_16_concurrent_clients_cost_a_bounded_number_of_entries(
    settings: Settings, ledger: Ledger, tokens: TokenStore
) -> None:
    app = create_app(settings, ledger, tokens)
    per_client = 40
    statuses: list[int] = []
    lock = threading.Lock()
    with serve_in_thread(app, lifespan="off") as url:

        def attack() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(per_client):
                    answer = client.post("/login", data={"token": WRONG}, headers={"Origin": url})
                    with lock:
                        statuses.append(answer.status_code)

        threads = [threading.Thread(target=attack) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(statuses) == 16 * per_client
    assert set(statuses) == {401, 429}
    assert statuses.count(429) > 16 * per_client // 2, "most are refused before anything is checked"
    assert ledger.size == 0, "no window has ended yet"
    [summary] = refusals(app, ledger)
    evidence = summary["evidence"]
    assert evidence["refused_401"] == statuses.count(401)
    assert evidence["limited_429"] == statuses.count(429)
    assert ledger.size == 1


def test_a_big_login_body_is_refused_before_it_is_read(limited: FastAPI, ledger: Ledger) -> None:
    huge = (b"x" * MIB for _ in range(300))  # 300 MB, made only as far as it is read
    seen = stream_body(limited, "/login", huge, {"content-type": "application/x-www-form-urlencoded", **ORIGIN})
    assert seen.status == 413
    assert seen.chunks_read == 1
    assert all(name in seen.headers for name in SECURITY_HEADERS)

    huge = (b"x" * MIB for _ in range(300))
    multipart = stream_body(limited, "/login", huge, {"content-type": "multipart/form-data; boundary=b", **ORIGIN})
    assert (multipart.status, multipart.chunks_read) == (400, 0), "refused by its type, unread"

    declared = stream_body(limited, "/login", iter([b"x"]), {"content-length": str(300 * MIB), **ORIGIN})
    assert (declared.status, declared.chunks_read) == (413, 0), "refused on Content-Length alone"
    refusals(limited, ledger)
    assert ledger.size == 0


def test_any_body_over_the_limit_is_refused_unread(
    settings: Settings, ledger: Ledger, tokens: TokenStore, make_token: MakeToken
) -> None:
    small = settings.model_copy(update={"console": ConsoleSettings(max_body_bytes=8192)})
    app = create_app(small, ledger, tokens)
    body = (b"{" + b" " * 4095 for _ in range(1000))
    json_type = {"content-type": "application/json"}
    seen = stream_body(app, "/api/v1/audit/entries", body, {**json_type, **bearer(make_token("admin"))})
    assert (seen.status, seen.chunks_read) == (413, 3), "read only until it passed 8192 bytes"
    with TestClient(app) as client:
        response = client.post("/api/v1/audit/entries", content=b"1" * 9000, headers=json_type)
        assert response.status_code == 413, "413, not 401: a declared length is refused before authentication"
        assert response.json()["error"] == "PayloadTooLargeError"


def test_login_takes_only_a_small_url_encoded_form(stranger: TestClient, make_token: MakeToken) -> None:
    token = make_token("viewer")
    multipart = stranger.post("/login", files={"token": (None, token)}, headers=ORIGIN, follow_redirects=False)
    assert multipart.status_code == 400
    assert multipart.json()["field"] == "Content-Type"
    json_body = stranger.post("/login", json={"token": token}, headers=ORIGIN)
    assert json_body.status_code == 400
    too_big = stranger.post("/login", data={"token": token, "next": "/" + "a" * 5000}, headers=ORIGIN)
    assert too_big.status_code == 413
    good = stranger.post("/login", data={"token": token, "next": "/audit"}, headers=ORIGIN, follow_redirects=False)
    assert (good.status_code, good.headers["location"]) == (303, "/audit")


def test_a_server_error_carries_the_security_headers(limited: FastAPI) -> None:
    response = server_error(limited)
    assert response.status_code == 500
    for name in SECURITY_HEADERS:
        assert name in response.headers, name
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("trusted", "recorded"), [((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")], ids=["untrusted", "trusted"]
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: tuple[str, ...], recorded: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_token_store(settings) as store:
        _info, token = store.create("probe", "auditor")
    forwarded = {"X-Forwarded-For": "203.0.113.9", **bearer(token)}
    with running_server(settings.data_dir, tmp_path, trusted_proxies=trusted) as server:
        verify = httpx.post(f"{server.url}/api/v1/audit/verify", headers=forwarded, timeout=30)
        assert verify.status_code == 200, verify.text
        refused = httpx.post(f"{server.url}/api/v1/audit/verify", headers={"X-Forwarded-For": "203.0.113.9"})
        assert refused.status_code == 401
        output = server.stop()
        assert "stopped cleanly" in output, output
    with open_ledger(settings) as ledger:
        [request] = console_entries(ledger)
        [summary] = console_entries(ledger, "console.refusals")  # written at shutdown
        kinds = [e.fields["kind"] for e in reversed(ledger.tail(ledger.size))]
    assert request["evidence"]["client"] == recorded
    assert summary["evidence"]["client"] == recorded
    assert kinds[-2:] == ["console.refusals", "console.lifecycle"]
