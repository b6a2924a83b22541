"""The REST API: roles, request auditing, CSRF, bad input, and each endpoint's answer."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MakeToken, TestClient, bearer, console_entries, refusals, sample_entry
from fastapi import FastAPI

from finpilot.audit import Entry, Ledger, verify_bundle, verify_consistency_proof, verify_inclusion_proof
from finpilot.console import TokenStore
from finpilot.core import Settings

READS = [
    ("GET", "/api/v1/audit/entries"),
    ("GET", "/api/v1/audit/entries/0"),
    ("GET", "/api/v1/audit/checkpoints"),
    ("GET", "/api/v1/audit/checkpoints/latest"),
    ("GET", "/api/v1/audit/proofs/inclusion/0"),
    ("GET", "/api/v1/audit/proofs/consistency?old=1"),
    ("GET", "/api/v1/audit/public-key"),
]
VERIFY = [("POST", "/api/v1/audit/verify")]
EXPORT = [("GET", "/api/v1/audit/export")]
APPEND = [("POST", "/api/v1/audit/entries"), ("POST", "/api/v1/audit/checkpoints")]
ADMIN = [
    ("POST", "/api/v1/audit/erasures"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{victim}"),
]
ALL = READS + VERIFY + EXPORT + APPEND + ADMIN
# Written out from the role descriptions rather than derived from ROLE_PERMISSIONS, so the
# table in the code is checked against the intent, not against itself.
ALLOWED = {
    "viewer": READS,
    "auditor": READS + VERIFY + EXPORT,
    "operator": READS + VERIFY + APPEND,
    "admin": ALL,
}


def _body(method: str, path: str, role: str) -> dict[str, Any] | None:
    if method != "POST":
        return None
    if path.endswith("/entries"):
        return sample_entry()
    if path.endswith("/erasures"):
        return {"data_subject": "customer:1"}
    if path.endswith("/tokens"):
        return {"name": f"made-by-{role}", "role": "viewer"}
    return None


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_may_do_exactly_what_it_should(
    role: str, client: TestClient, make_token: MakeToken, tokens: TokenStore, seeded: list[int]
) -> None:
    token = make_token(role)
    for method, template in ALL:
        victim, _ = tokens.create(f"victim-{role}-{len(tokens.list())}", "viewer")
        path = template.format(victim=victim.id)
        response = client.request(method, path, json=_body(method, path, role), headers=bearer(token))
        if (method, template) in ALLOWED[role]:
            assert response.status_code in (200, 201, 204), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.json()["error"] == "PermissionDeniedError"


def test_a_refused_append_is_audited_and_changes_nothing_else(
    app: FastAPI, client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    token = make_token("auditor")
    before = ledger.size
    response = client.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(token))
    assert response.status_code == 403
    assert ledger.size == before, "a refusal is counted in its window, not appended on its own"
    [record] = refusals(app, ledger)
    assert ledger.size == before + 1, "only the summary of the refusal was added"
    assert (record["actor"], record["action"], record["subject"]) == (
        "finpilot:console",
        "summarise",
        "client:testclient",
    )
    assert record["outcome"] == "refused"
    evidence = record["evidence"]
    assert (evidence["refused_401"], evidence["refused_403"], evidence["limited_429"]) == (0, 1, 0)
    assert evidence["routes"] == {"POST /api/v1/audit/entries": 1}
    assert evidence["actors"] == ["token:auditor-user"]


def test_a_wrong_token_is_401_and_audited_as_anonymous(app: FastAPI, client: TestClient, ledger: Ledger) -> None:
    wrong = "fp_0123abcd_" + "x" * 43
    response = client.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(wrong))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert wrong not in response.text
    [record] = refusals(app, ledger)
    assert record["evidence"]["refused_401"] == 1
    assert record["evidence"]["actors"] == [], "nobody authenticated"
    for entry in ledger.tail(ledger.size):
        assert wrong.encode() not in entry.data


def test_no_credentials_at_all(app: FastAPI, client: TestClient, ledger: Ledger) -> None:
    assert client.get("/api/v1/audit/entries").status_code == 401
    assert client.post("/api/v1/audit/verify").status_code == 401
    assert client.post("/api/v1/audit/verify", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    assert console_entries(ledger) == [], "refusals are not audited one by one"
    [record] = refusals(app, ledger)
    assert record["evidence"]["routes"] == {"GET /api/v1/audit/entries": 1, "POST /api/v1/audit/verify": 2}


def test_successful_mutations_are_audited_with_the_route_template(
    client: TestClient, make_token: MakeToken, ledger: Ledger, tokens: TokenStore
) -> None:
    token = make_token("admin")
    victim, _ = tokens.create("victim", "viewer")
    client.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(token))
    client.delete(f"/api/v1/tokens/{victim.id}", headers=bearer(token))
    actions = [(r["action"], r["outcome"]) for r in console_entries(ledger)]
    assert actions == [("POST /api/v1/audit/entries", "201"), ("DELETE /api/v1/tokens/{token_id}", "204")]


def _login(client: TestClient, token: str) -> None:
    response = client.post("/login", data={"token": token}, headers={"Origin": "http://testserver"})
    assert response.status_code == 200, response.text  # followed the redirect to the home page
    assert client.cookies.get("finpilot_session") == token


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {"Origin": "null"}],
    ids=["no-origin", "foreign-origin", "foreign-referer", "null-origin"],
)
def test_cookie_writes_from_another_origin_are_refused(
    app: FastAPI, client: TestClient, make_token: MakeToken, ledger: Ledger, headers: dict[str, str]
) -> None:
    _login(client, make_token("operator"))
    before = ledger.size
    response = client.post("/api/v1/audit/entries", json=sample_entry(), headers=headers)
    assert response.status_code == 403
    assert "cross-site" in response.json()["message"]
    assert ledger.size == before
    [record] = refusals(app, ledger)
    assert record["evidence"]["refused_403"] == 1
    assert record["evidence"]["actors"] == ["token:operator-user"]


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://testserver"}, {"Referer": "http://testserver/audit"}], ids=["origin", "referer"]
)
def test_cookie_writes_from_this_origin_pass(
    client: TestClient, make_token: MakeToken, headers: dict[str, str]
) -> None:
    _login(client, make_token("operator"))
    response = client.post("/api/v1/audit/entries", json=sample_entry(), headers=headers)
    assert response.status_code == 201


def test_a_login_posted_from_another_site_is_refused(client: TestClient, make_token: MakeToken) -> None:
    response = client.post("/login", data={"token": make_token("admin")}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "finpilot_session" not in client.cookies


def _assert_error(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field
    assert body["message"]
    assert set(body) == {"error", "message", "field", "fix"}


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"content": b"this is not json", "headers": {"Content-Type": "application/json"}}, 400, "$"),
        ({"content": b"", "headers": {"Content-Type": "application/json"}}, 400, "$"),
        ({"content": b'{"kind": NaN}', "headers": {"Content-Type": "application/json"}}, 400, "$"),
        (
            {"content": json.dumps(sample_entry()).encode(), "headers": {"Content-Type": "text/plain"}},
            400,
            "Content-Type",
        ),
        ({"json": {k: v for k, v in sample_entry().items() if k != "outcome"}}, 422, "outcome"),
        ({"json": sample_entry(colour="red")}, 422, "colour"),
        ({"json": sample_entry(actor="")}, 422, "actor"),
        ({"json": sample_entry(evidence={"card": "4111 1111 1111 1111"})}, 422, "evidence"),
        ({"json": sample_entry(evidence="not an object")}, 422, "evidence"),
        ({"json": [sample_entry()]}, 422, "$"),
        ({"json": {"entries": []}}, 422, "entries"),
        ({"json": {"entries": [sample_entry(), sample_entry(outcome=None)]}}, 422, "entries[1].outcome"),
        ({"json": {"entries": [sample_entry()], "extra": 1}}, 422, "extra"),
        ({"json": sample_entry(evidence={"blob": "x" * (2 * 65536)})}, 413, "$"),
    ],
    ids=[
        "not-json",
        "empty",
        "nan",
        "wrong-content-type",
        "missing-field",
        "unknown-field",
        "empty-actor",
        "pan",
        "evidence-not-object",
        "array",
        "empty-batch",
        "bad-batch-item",
        "batch-extra-key",
        "oversize",
    ],
)
def test_bad_input_is_refused_with_the_field_and_changes_nothing(
    client: TestClient,
    make_token: MakeToken,
    ledger: Ledger,
    kwargs: dict[str, Any],
    status: int,
    field: str,
) -> None:
    token = make_token("operator")
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    before = ledger.size
    response = client.post("/api/v1/audit/entries", headers=headers, **kwargs)
    _assert_error(response, status, field)
    assert ledger.size == before, "bad input must change nothing, not even the request audit"
    assert "4111" not in response.text, "request bodies are never echoed"


def test_pan_error_says_what_was_wrong(client: TestClient, make_token: MakeToken) -> None:
    response = client.post(
        "/api/v1/audit/entries",
        json=sample_entry(evidence={"card": "4111 1111 1111 1111"}),
        headers=bearer(make_token("operator")),
    )
    assert response.json()["error"] == "SensitiveDataError"
    assert "card number" in response.json()["message"]


def test_oversize_is_refused_from_the_declared_length(
    client: TestClient, make_token: MakeToken, ledger: Ledger, settings: Settings
) -> None:
    limit = settings.audit.max_entry_bytes * 2
    body = json.dumps(sample_entry(evidence={"blob": "y" * limit})).encode()
    response = client.post(
        "/api/v1/audit/entries",
        content=body,
        headers={**bearer(make_token("operator")), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert ledger.size == 0


def test_query_validation_errors_name_the_parameter(client: TestClient, make_token: MakeToken) -> None:
    response = client.get("/api/v1/audit/entries?limit=0", headers=bearer(make_token("viewer")))
    assert response.status_code == 422
    assert response.json()["field"] == "limit"
    assert response.json()["error"] == "InputError"


def test_append_one_and_a_batch(client: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    token = make_token("operator")
    one = client.post("/api/v1/audit/entries", json=sample_entry(), headers=bearer(token))
    assert one.status_code == 201
    assert one.json() == {"index": 0}
    batch = client.post(
        "/api/v1/audit/entries",
        json={"entries": [sample_entry(subject="a"), sample_entry(subject="b")]},
        headers=bearer(token),
    )
    assert batch.status_code == 201
    # Index 1 is the request record of the first append.
    assert batch.json() == {"indices": [2, 3]}
    assert [ledger.entry(i).fields["subject"] for i in (0, 2, 3)] == ["service:payments@1.4.2", "a", "b"]


def test_entries_newest_first_with_paging(
    client: TestClient, make_token: MakeToken, ledger: Ledger, seeded: list[int]
) -> None:
    headers = bearer(make_token("viewer"))
    page = client.get("/api/v1/audit/entries?limit=2", headers=headers).json()
    assert page["size"] == 3
    assert [e["index"] for e in page["entries"]] == [2, 1]
    older = client.get("/api/v1/audit/entries?limit=2&before=1", headers=headers).json()
    assert [e["index"] for e in older["entries"]] == [0]
    one = client.get("/api/v1/audit/entries/1", headers=headers).json()
    assert (one["index"], one["subject"]) == (1, "service:s1")
    missing = client.get("/api/v1/audit/entries/99", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFoundError"


def test_checkpoints_and_proofs_verify(
    client: TestClient, make_token: MakeToken, ledger: Ledger, seeded: list[int]
) -> None:
    headers = bearer(make_token("operator"))
    latest = client.get("/api/v1/audit/checkpoints/latest", headers=headers).json()
    assert latest["tree_size"] == 3
    assert latest["note"].startswith(ledger.origin + "\n3\n")
    listed = client.get("/api/v1/audit/checkpoints", headers=headers).json()["checkpoints"]
    assert listed[-1] == latest
    client.post("/api/v1/audit/entries", json=sample_entry(), headers=headers)
    signed = client.post("/api/v1/audit/checkpoints", headers=headers)
    assert signed.status_code == 201
    assert signed.json()["tree_size"] >= 4
    key = client.get("/api/v1/audit/public-key", headers=headers).text.strip()
    assert key == ledger.verifier_key()
    assert "BEGIN PUBLIC KEY" in client.get("/api/v1/audit/public-key?format=pem", headers=headers).text
    proof = client.get("/api/v1/audit/proofs/inclusion/1", headers=headers)
    assert proof.status_code == 200
    assert "content-disposition" not in proof.headers
    assert verify_inclusion_proof(proof.json(), key)
    download = client.get("/api/v1/audit/proofs/inclusion/1?download=true", headers=headers)
    assert download.headers["content-disposition"] == 'attachment; filename="inclusion-1.json"'
    consistency = client.get("/api/v1/audit/proofs/consistency?old=3", headers=headers).json()
    assert verify_consistency_proof(consistency)
    assert client.get("/api/v1/audit/proofs/inclusion/99", headers=headers).status_code in (404, 422)


def test_checkpoints_before_any_entry(client: TestClient, make_token: MakeToken) -> None:
    headers = bearer(make_token("operator"))
    assert client.get("/api/v1/audit/checkpoints/latest", headers=headers).status_code == 404


def test_verify_reports_ok(client: TestClient, make_token: MakeToken, seeded: list[int]) -> None:
    report = client.post("/api/v1/audit/verify", headers=bearer(make_token("auditor")))
    assert report.status_code == 200
    assert report.json()["ok"] is True
    assert report.json()["first_bad_index"] is None


def test_export_is_a_verifiable_tarball(
    client: TestClient, make_token: MakeToken, ledger: Ledger, seeded: list[int], tmp_path: Path
) -> None:
    response = client.get("/api/v1/audit/export", headers=bearer(make_token("auditor")))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert "attachment" in response.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        members = tar.getmembers()
        assert all(m.uname == "" and m.uid == 0 for m in members)
        tar.extractall(tmp_path / "out", filter="data")
    [bundle] = list((tmp_path / "out").iterdir())
    assert {p.name for p in bundle.iterdir()} >= {"entries.jsonl", "checkpoints.jsonl", "log.pub", "manifest.json"}
    assert verify_bundle(bundle, ledger.verifier_key()).ok


def test_erasure_removes_personal_data(client: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    index = ledger.append(
        Entry(
            kind="custom.kyc",
            actor="onboarding",
            action="check",
            subject="customer:7",
            outcome="passed",
            personal={"name": "Ada Lovelace"},
            data_subject="customer:7",
        )
    )
    admin = bearer(make_token("admin"))
    for bad, field in (({}, "data_subject"), ({"data_subject": " "}, "data_subject"), ({"who": "x"}, "who")):
        response = client.post("/api/v1/audit/erasures", json=bad, headers=admin)
        assert (response.status_code, response.json()["field"]) == (422, field)
    response = client.post("/api/v1/audit/erasures", json={"data_subject": "customer:7"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["erased_indices"] == [index]
    assert ledger.verify().ok


def test_tokens_api(client: TestClient, make_token: MakeToken, ledger: Ledger, tokens: TokenStore) -> None:
    admin = bearer(make_token("admin", "root-admin"))
    created = client.post("/api/v1/tokens", json={"name": "ci", "role": "operator"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert (body["name"], body["role"], body["active"]) == ("ci", "operator", True)
    assert tokens.authenticate(token).name == "ci"
    listed = client.get("/api/v1/tokens", headers=admin)
    assert token not in listed.text
    assert {t["name"] for t in listed.json()["tokens"]} == {"root-admin", "ci"}
    for bad, field in (
        ({"name": "ci", "role": "viewer"}, "name"),
        ({"name": "x", "role": "god"}, "role"),
        ({"role": "viewer"}, "name"),
        ({"name": "y", "role": "viewer", "secret": "s"}, "secret"),
    ):
        response = client.post("/api/v1/tokens", json=bad, headers=admin)
        assert (response.status_code, response.json()["field"]) == (422, field)
    assert client.delete("/api/v1/tokens/deadbeef", headers=admin).status_code == 404
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/audit/entries", headers=bearer(token)).status_code == 401
    records = [(r["action"], r["subject"], r["actor"]) for r in console_entries(ledger, "console.token")]
    assert records == [
        ("create", f"token:{body['id']}", "token:root-admin"),
        ("revoke", f"token:{body['id']}", "token:root-admin"),
    ]
    for entry in ledger.tail(ledger.size):
        assert token.encode() not in entry.data


def test_openapi_is_served_and_the_cdn_docs_are_not(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/audit/entries" in spec["paths"]
    assert "requestBody" in spec["paths"]["/api/v1/audit/entries"]["post"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    unknown = client.get("/no/such/thing")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "NotFoundError"
