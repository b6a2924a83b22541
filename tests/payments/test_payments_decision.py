"""The decision hook: approve, review (flagged) and decline (402, recorded), in-process or over HTTP."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from finpilot_payments import (
    AllowAllDecider,
    CallableDecider,
    Decision,
    HttpDecider,
    PaymentContext,
    PaymentsSettings,
    make_decider,
)
from payments_helpers import Bank

CONTEXT = PaymentContext(
    payment_id="auth_1",
    account_id="acct_1",
    merchant_id="acct_2",
    card_token="tok_1",
    card_last4="1111",
    amount=500,
    currency="EUR",
    time="2026-01-01T00:00:00+00:00",
)


def by_amount(payment: PaymentContext) -> Decision:
    """Decline amounts ending in 7, review those ending in 5, approve the rest."""
    if payment.amount % 10 == 7:
        return Decision(action="decline", reasons=("rule:ends-in-7",), score=0.99, model_version="m1", audit_index=42)
    if payment.amount % 10 == 5:
        return Decision(action="review", reasons=("rule:ends-in-5",), score=0.6, model_version="m1", audit_index=43)
    return Decision(action="approve", score=0.01, model_version="m1")


def test_review_authorizes_and_flags(make_bank) -> None:  # type: ignore[no-untyped-def]
    bank: Bank = make_bank(decider=CallableDecider(by_amount))
    f = bank.funded(10_000)
    response = bank.authorize(f.card, f.merchant, 1_005)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["flagged"]) == ("authorized", True)
    assert body["decision"] == {
        "action": "review",
        "reasons": ["rule:ends-in-5"],
        "score": 0.6,
        "model_version": "m1",
        "audit_index": 43,
    }
    assert bank.balance(f.customer)["held"] == 1_005


def test_decline_is_402_recorded_and_holds_nothing(make_bank) -> None:  # type: ignore[no-untyped-def]
    bank: Bank = make_bank(decider=CallableDecider(by_amount))
    f = bank.funded(10_000)
    response = bank.authorize(f.card, f.merchant, 1_007, key="d-1")
    assert response.status_code == 402
    body = response.json()
    assert body["status"] == "declined"
    assert body["decision"]["reasons"] == ["rule:ends-in-7"]
    assert bank.get(f"/v1/authorizations/{body['id']}").json()["status"] == "declined"
    assert bank.balance(f.customer)["held"] == 0
    assert bank.post(f"/v1/authorizations/{body['id']}/capture", {}).status_code == 409
    replay = bank.authorize(f.card, f.merchant, 1_007, key="d-1")
    assert (replay.status_code, replay.json()) == (402, body)
    metrics = bank.client.get("/metrics").text
    assert 'payments_decisions_total{action="decline"} 1.0' in metrics
    bank.books()


def test_the_default_decider_is_the_allow_all_stub() -> None:
    assert isinstance(make_decider(PaymentsSettings()), AllowAllDecider)
    assert isinstance(make_decider(PaymentsSettings(decider_url="http://127.0.0.1:1")), HttpDecider)
    assert AllowAllDecider().decide(CONTEXT).action == "approve"


def _decider(handler, *, fail_open: bool = False) -> HttpDecider:  # type: ignore[no-untyped-def]
    return HttpDecider("http://fraud.test/", fail_open=fail_open, transport=httpx.MockTransport(handler))


def test_http_decider_posts_the_payment_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "action": "review",
                "reasons": ["velocity"],
                "score": 0.7,
                "model_version": "gbm-3",
                "audit_index": 9,
            },
        )

    decision = _decider(handler).decide(CONTEXT)
    assert decision == Decision("review", ("velocity",), 0.7, "gbm-3", 9)
    assert str(seen[0].url) == "http://fraud.test/api/v1/fraud/scores"
    # The body finpilot's /api/v1/fraud/scores takes: ids renamed, the amount in major units, RFC 3339 time.
    assert json.loads(seen[0].content) == {
        "transaction_id": "auth_1",
        "customer_id": "acct_1",
        "terminal_id": "acct_2",
        "amount": 5.0,
        "time": "2026-01-01T00:00:00Z",
    }
    assert "authorization" not in seen[0].headers  # no token configured, none sent


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: httpx.Response(500),
        lambda request: httpx.Response(502),
        lambda request: httpx.Response(503, json={"error": "UnavailableError"}),
        lambda request: httpx.Response(504),
        lambda request: httpx.Response(200, content=b"not json"),
        lambda request: httpx.Response(200, json={"action": "maybe"}),
        lambda request: httpx.Response(200, json={"action": "approve", "score": "high"}),
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=request)),
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused", request=request)),
    ],
)
def test_http_decider_fails_closed_by_default_and_open_when_set(failure) -> None:  # type: ignore[no-untyped-def]
    closed = _decider(failure).decide(CONTEXT)
    assert closed.action == "decline"
    assert closed.reasons == ("decider unavailable (fail-closed)",)
    opened = _decider(failure, fail_open=True).decide(CONTEXT)
    assert opened.action == "approve"
    assert opened.reasons == ("decider unavailable (fail-open)",)
    assert opened.model_version == "unavailable"


def test_a_refused_amount_is_declined_even_when_failing_open() -> None:
    """Issue 10, finding 2: the fraud API answered 422 to 2x10^11 cents and fail-open approved it unscored."""
    big = dataclasses.replace(CONTEXT, amount=2 * 10**11)

    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["amount"] >= 1e9:  # the fraud API's cap before the fix
            return httpx.Response(422, json={"error": "InputError", "message": "'amount' too large", "field": "amount"})
        return httpx.Response(200, json={"decision": "approve"})

    for fail_open in (True, False):
        decision = _decider(handler, fail_open=fail_open).decide(big)
        assert decision.action == "decline"
        assert decision.reasons == ("decider refused the request (HTTP 422)",)
        assert decision.model_version == "unavailable"
        assert _decider(handler, fail_open=fail_open).decide(CONTEXT).action == "approve"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 429, 301, 307])
@pytest.mark.parametrize("fail_open", [True, False])
def test_any_refusal_declines_whatever_the_failure_policy(status: int, fail_open: bool) -> None:
    location = {"Location": "http://elsewhere.test/"} if status < 400 else {}
    decider = _decider(lambda request: httpx.Response(status, headers=location), fail_open=fail_open)
    decision = decider.decide(CONTEXT)
    assert (decision.action, decision.reasons) == ("decline", (f"decider refused the request (HTTP {status})",))


def test_http_decider_end_to_end_through_the_service(make_bank) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        amount = json.loads(request.content)["amount"]  # major units: 10.00 EUR is 1_000 cents
        return httpx.Response(200, json={"decision": "decline" if amount > 10 else "approve", "reasons": []})

    bank: Bank = make_bank(decider=_decider(handler))
    f = bank.funded(10_000)
    assert bank.authorize(f.card, f.merchant, 2_000).status_code == 402
    assert bank.authorize(f.card, f.merchant, 500).status_code == 201


@pytest.mark.parametrize("fail_open", [False, True])
def test_http_decider_times_out_against_a_real_slow_server(fail_open: bool) -> None:
    import http.server
    import threading
    import time

    release = threading.Event()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        decider = HttpDecider(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=0.2, fail_open=fail_open)
        started = time.perf_counter()
        # A timeout is an outage, not a refusal: the failure policy decides.
        assert decider.decide(CONTEXT).action == ("approve" if fail_open else "decline")
        assert time.perf_counter() - started < 2
        decider.close()
    finally:
        release.set()
        server.shutdown()
        server.server_close()
