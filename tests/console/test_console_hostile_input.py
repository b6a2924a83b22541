"""Hostile input on every JSON route and every integer parameter of the console: a 4xx, never a 500,
and no card number echoed back (issue 10, findings 7, 8 and 9)."""

from __future__ import annotations

import re

import pytest
from console_helpers import MakeToken, TestClient, bearer

from finpilot.core import MAX_JSON_DEPTH

JSON_ROUTES = [
    "/api/v1/audit/entries",
    "/api/v1/audit/erasures",
    "/api/v1/tokens",
    "/api/v1/fraud/scores",
    "/api/v1/fraud/labels",
    "/api/v1/fraud/accounts/cust-1/freeze",
    "/api/v1/fraud/accounts/cust-1/unfreeze",
]
"""Every console route that reads a JSON body."""

PAN = "4111111111111111"  # Luhn-valid: the test Visa number
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", [b"[" * 4000, _nested(MAX_JSON_DEPTH + 1), b'{"x": ' + _nested(MAX_JSON_DEPTH) + b"}"])
def test_deeply_nested_json_is_a_400(client: TestClient, make_token: MakeToken, route: str, body: bytes) -> None:
    headers = {**bearer(make_token("admin")), "Content-Type": "application/json"}
    answer = client.post(route, content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "BadRequestError"
    assert answer.json()["field"] == "$"


def test_nesting_up_to_the_limit_is_parsed(client: TestClient, make_token: MakeToken) -> None:
    # A nested evidence object within the limit reaches the entry's own checks (and is stored).
    evidence: dict[str, object] = {"leaf": 1}
    for _ in range(MAX_JSON_DEPTH - 2):
        evidence = {"inner": evidence}
    entry = {"kind": "custom.deploy", "action": "x", "subject": "s", "outcome": "ok"}
    admin = bearer(make_token("admin"))
    answer = client.post("/api/v1/audit/entries", json={**entry, "evidence": evidence}, headers=admin)
    assert answer.status_code == 201, answer.text


TOO_BIG = str(2**63)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/audit/entries/{TOO_BIG}", "index"),
        (f"/api/v1/audit/entries?before={TOO_BIG}", "before"),
        (f"/api/v1/audit/checkpoints?after={TOO_BIG}", "after"),
        (f"/api/v1/audit/proofs/inclusion/{TOO_BIG}", "index"),
        (f"/api/v1/audit/proofs/inclusion/0?tree_size={TOO_BIG}", "tree_size"),
        (f"/api/v1/audit/proofs/consistency?old={TOO_BIG}", "old"),
        (f"/api/v1/audit/proofs/consistency?old=1&new={TOO_BIG}", "new"),
    ],
)
def test_integers_past_64_bits_are_a_422_naming_the_field(
    client: TestClient, make_token: MakeToken, path: str, field: str
) -> None:
    answer = client.get(path, headers=bearer(make_token("viewer")))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert "2**63 - 1" in answer.json()["message"]


def test_the_audit_page_refuses_an_index_past_64_bits(client: TestClient, make_token: MakeToken) -> None:
    answer = client.get(f"/audit?before={TOO_BIG}", headers=bearer(make_token("viewer")))
    assert answer.status_code == 422


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", [{PAN: 1}, {"entries": [{PAN: 1}]}, {"4111 1111 1111 1111": True}])
def test_a_card_number_as_a_field_name_is_never_echoed(
    client: TestClient, make_token: MakeToken, route: str, body: dict[str, object]
) -> None:
    answer = client.post(route, json=body, headers=bearer(make_token("admin")))
    assert 400 <= answer.status_code < 500, answer.text
    assert not DIGIT_RUN.search(answer.text), answer.text
