"""Property: over any sequence of operations, retries included, the books balance and match a model.

Each example opens fresh accounts in the backend's database (the state of earlier examples
stays, so the invariants are checked over everything ever posted). A model tracks the
balances the successful responses imply; replays must change nothing. The model also tracks
which accounts are frozen (by the freeze API or by a decision that freezes), and a frozen
account never pays: no authorization from its card, transfer from it or refund by it succeeds.
"""

from __future__ import annotations

from typing import Any

from finpilot_payments import CallableDecider, Decision, PaymentContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from payments_helpers import Bank


def _decide(payment: PaymentContext) -> Decision:
    if payment.amount % 11 == 0:
        return Decision(action="decline", reasons=("elevens",), freeze_account=True)
    if payment.amount % 7 == 0:
        return Decision(action="decline", reasons=("sevens",))
    if payment.amount % 5 == 0:
        return Decision(action="review", reasons=("fives",))
    return Decision(action="approve")


amounts = st.one_of(st.integers(1, 3_000), st.sampled_from([0, -1, 10**12 + 1]))
maybe_amount = st.one_of(st.none(), amounts)
ops = st.one_of(
    st.tuples(st.just("transfer"), st.integers(0, 5), st.integers(0, 5), amounts),
    st.tuples(st.just("authorize"), st.integers(1, 3), st.integers(4, 5), amounts),
    st.tuples(st.just("capture"), st.integers(0, 20), maybe_amount),
    st.tuples(st.just("refund"), st.integers(0, 20), maybe_amount),
    st.tuples(st.just("freeze"), st.integers(1, 5), st.booleans()),
    st.tuples(st.just("retry"), st.integers(0, 40)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(ops, min_size=1, max_size=25))
# Always tried: a freezing decline, then the same card and a transfer; a manual freeze, then a
# refund by the frozen merchant and an unfreeze; each must be refused while frozen.
@example(steps=[("authorize", 1, 4, 22), ("authorize", 1, 4, 30), ("transfer", 1, 2, 10), ("retry", 0)])
@example(
    steps=[
        ("authorize", 2, 5, 300),
        ("capture", 0, None),
        ("freeze", 5, True),
        ("refund", 0, 100),
        ("transfer", 5, 1, 10),
        ("freeze", 5, False),
        ("refund", 0, 100),
    ]
)
def test_books_balance_over_random_operation_sequences(make_bank, steps: list[tuple[Any, ...]]) -> None:  # type: ignore[no-untyped-def]
    bank: Bank = make_bank(decider=CallableDecider(_decide))
    # 0 settlement, 1-3 customers (limits 0, 500, 0), 4-5 merchants.
    accounts = [bank.account("settlement")]
    accounts += [bank.account("customer", overdraft_limit=limit) for limit in (0, 500, 0)]
    accounts += [bank.account("merchant") for _ in range(2)]
    cards = {i: bank.card(accounts[i]) for i in (1, 2, 3)}
    expected = dict.fromkeys(accounts, 0)
    held = dict.fromkeys(accounts, 0)
    # Fund the customers, so that payments get as far as the decider (and its freezes) more often.
    for i in (1, 2, 3):
        funding = {"from_account": accounts[0], "to_account": accounts[i], "amount": 5_000, "currency": "EUR"}
        assert bank.post("/v1/transfers", funding, key=f"{accounts[0]}-fund-{i}").status_code == 201
        expected[accounts[0]] -= 5_000
        expected[accounts[i]] += 5_000
    auths: list[dict[str, Any]] = []
    sent: list[tuple[str, Any, str]] = []
    frozen = dict.fromkeys(accounts, False)
    owner = {token: accounts[i] for i, token in cards.items()}

    def payer(path: str, body: Any) -> str | None:
        """The account a successful response to this request would take money from."""
        if path == "/v1/transfers":
            return str(body["from_account"])
        if path == "/v1/authorizations":
            return owner[body["card_token"]]
        if path.endswith("/refunds"):
            auth_id = path.split("/")[3]
            return next((str(a["merchant_id"]) for a in auths if a["id"] == auth_id), None)
        return None

    def apply(path: str, body: Any, key: str, response: Any) -> None:
        data = response.json()
        if response.headers.get("Idempotent-Replayed") or response.status_code >= 400:
            return
        if path == "/v1/transfers":
            expected[body["from_account"]] -= body["amount"]
            expected[body["to_account"]] += body["amount"]
        elif path == "/v1/authorizations":
            auths.append(data)
            held[data["account_id"]] += data["amount"]
        elif path.endswith("/capture"):
            held[data["account_id"]] -= data["amount"]
            expected[data["account_id"]] -= data["captured"]
            expected[data["merchant_id"]] += data["captured"]
        elif path.endswith("/refunds"):
            expected[data["authorization"]["merchant_id"]] -= data["amount"]
            expected[data["authorization"]["account_id"]] += data["amount"]

    for n, step in enumerate(steps):
        kind = step[0]
        key = f"{accounts[0]}-{n}"
        if kind == "retry":
            if not sent:
                continue
            path, body, key = sent[step[1] % len(sent)]
        elif kind == "transfer":
            path = "/v1/transfers"
            body = {
                "from_account": accounts[step[1]],
                "to_account": accounts[step[2]],
                "amount": step[3],
                "currency": "EUR",
            }
        elif kind == "authorize":
            path = "/v1/authorizations"
            body = {
                "card_token": cards[step[1]],
                "merchant_id": accounts[step[2]],
                "amount": step[3],
                "currency": "EUR",
            }
        elif kind in {"capture", "refund"}:
            target = auths[step[1] % len(auths)]["id"] if auths else "auth_missing"
            path = f"/v1/authorizations/{target}/{'capture' if kind == 'capture' else 'refunds'}"
            body = {} if step[2] is None else {"amount": step[2]}
        else:
            path = f"/v1/accounts/{accounts[step[1]]}/{'freeze' if step[2] else 'unfreeze'}"
            body = {}
        response = bank.post(path, body, key=key)
        assert response.status_code < 500, response.text
        replayed = bool(response.headers.get("Idempotent-Replayed"))
        paying = payer(path, body)
        if paying is not None and frozen.get(paying) and not replayed:
            assert response.status_code >= 400, (path, body, response.text)
        sent.append((path, body, key))
        apply(path, body, key, response)
        if not replayed and response.status_code == 200 and path.endswith(("/freeze", "/unfreeze")):
            frozen[path.split("/")[3]] = path.endswith("/freeze")
        declined = response.json().get("decision", {}) if response.status_code == 402 else {}  # 402 is also "no funds"
        if path == "/v1/authorizations" and not replayed and "elevens" in declined.get("reasons", []):
            frozen[owner[body["card_token"]]] = True

    report = bank.books()
    assert report["totals"] == {"EUR": 0}
    for account in accounts:
        state = bank.balance(account)
        assert state["frozen"] == frozen[account], (account, state)
        assert state["balance"] == expected[account], (account, state)
        assert state["held"] == held[account], (account, state)
        if state["kind"] != "settlement":
            assert state["available"] >= 0
