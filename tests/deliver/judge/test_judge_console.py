"""The Flagger webhook and the Argo Rollouts web metric: answers, auth, audit entries, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from judge_helpers import arm, write_csv
from openapi_helpers import OpenApiCheck
from starlette.testclient import TestClient

from finpilot.audit import Ledger
from finpilot.console import TokenStore
from finpilot.core import Settings
from finpilot.deliver import CsvDirectorySource, SampleSet


def _token(tokens: TokenStore, role: str = "viewer") -> str:
    _info, text = tokens.create(f"{role}-flagger", role)
    return text


def _samples(settings: Settings, rollout: str, canary_errors: float) -> Path:
    folder = settings.data_dir / "deliver" / "samples" / rollout
    folder.mkdir(parents=True)
    write_csv(folder / "baseline.csv", arm(1, 1200, error_rate=0.01))
    write_csv(folder / "canary.csv", arm(2, 1200, error_rate=canary_errors))
    return folder


def _analyses(ledger: Ledger) -> list[dict[str, Any]]:
    if ledger.size == 0:
        return []
    return [e.fields for e in reversed(ledger.tail(ledger.size)) if e.fields["kind"] == "deliver.analysis"]


def _flagger(rollout: str, token: str | None, **meta: str) -> dict[str, object]:
    namespace, name = rollout.split("/")
    metadata = {**meta, **({"token": token} if token else {})}
    return {"name": name, "namespace": namespace, "phase": "Progressing", "metadata": metadata}


@pytest.mark.parametrize(
    ("hook", "errors", "status", "verdict"),
    [
        ("confirm-promotion", 0.01, 200, "pass"),
        ("confirm-promotion", 0.09, 409, "fail"),
        ("rollback", 0.09, 200, "fail"),
        ("rollback", 0.01, 409, "pass"),
    ],
)
def test_flagger_hooks_answer_200_only_when_flagger_should_act(
    client: TestClient,
    settings: Settings,
    tokens: TokenStore,
    ledger: Ledger,
    hook: str,
    errors: float,
    status: int,
    verdict: str,
) -> None:
    _samples(settings, "prod/payments", errors)
    token = _token(tokens)
    body = _flagger("prod/payments", token, release="payments-1.4.0", window_s="600")
    response = client.post(f"/api/v1/analysis/flagger/{hook}", json=body)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["verdict"] == verdict
    else:
        assert set(response.json()) == {"error", "message", "field", "fix"}
        assert verdict in response.json()["message"]
    [entry] = _analyses(ledger)
    assert (entry["subject"], entry["outcome"], entry["actor"]) == (
        "release:payments-1.4.0",
        verdict,
        "token:viewer-flagger",
    )
    evidence = entry["evidence"]
    assert evidence["source"] == f"flagger:{hook}"
    assert evidence["rollout"] == "prod/payments"
    assert len(evidence["files"]) == 2
    assert token not in json.dumps(ledger.tail(ledger.size)[0].fields)
    assert token.split("_")[-1] not in json.dumps([e.fields for e in ledger.tail(ledger.size)])


def test_flagger_needs_a_valid_token_with_read(client: TestClient, settings: Settings, ledger: Ledger) -> None:
    _samples(settings, "prod/payments", 0.01)
    for token in (None, "fp_nope_nope"):
        response = client.post("/api/v1/analysis/flagger/confirm-promotion", json=_flagger("prod/payments", token))
        assert response.status_code == 401
        assert set(response.json()) == {"error", "message", "field", "fix"}
    assert _analyses(ledger) == []


def test_flagger_accepts_a_bearer_header_too(client: TestClient, settings: Settings, tokens: TokenStore) -> None:
    _samples(settings, "prod/payments", 0.01)
    token = _token(tokens)
    response = client.post(
        "/api/v1/analysis/flagger/confirm-promotion",
        json=_flagger("prod/payments", None),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["rollout"] == "prod/payments"


def test_argo_gets_the_verdict_whatever_it_is(
    client: TestClient, settings: Settings, tokens: TokenStore, ledger: Ledger
) -> None:
    _samples(settings, "payments", 0.09)
    headers = {"Authorization": f"Bearer {_token(tokens)}"}
    response = client.get("/api/v1/analysis/argo", params={"rollout": "payments"}, headers=headers)
    assert response.status_code == 200
    data = response.json()
    assert (data["verdict"], data["step"]) == ("fail", "rollback")
    assert next(m["name"] for m in data["metrics"]) == "error_rate"
    [entry] = _analyses(ledger)
    assert (entry["subject"], entry["outcome"]) == ("rollout:payments", "fail")
    assert data["audit_index"] == ledger.size - 1
    assert client.get("/api/v1/analysis/argo", params={"rollout": "payments"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"rollout": "../../keys"}, 422, "rollout"),
        ({"rollout": "a/b/c"}, 422, "rollout"),
        ({"rollout": "absent"}, 404, None),
        ({"rollout": "payments", "release": "bad id"}, 422, "release"),
        ({"rollout": "payments", "window_s": "-5"}, 422, None),
    ],
)
def test_argo_bad_input_is_the_one_error_body(
    client: TestClient, settings: Settings, tokens: TokenStore, params: dict[str, str], status: int, field: str | None
) -> None:
    _samples(settings, "payments", 0.01)
    response = client.get("/api/v1/analysis/argo", params=params, headers={"Authorization": f"Bearer {_token(tokens)}"})
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "message", "field", "fix"}
    if field:
        assert response.json()["field"] == field


def test_a_window_judges_only_the_last_seconds(
    console: FastAPI, client: TestClient, settings: Settings, tokens: TokenStore
) -> None:
    _samples(settings, "payments", 0.01)  # 1200 requests at 50/s: 24 s
    headers = {"Authorization": f"Bearer {_token(tokens)}"}
    data = client.get("/api/v1/analysis/argo", params={"rollout": "payments", "window_s": 2}, headers=headers).json()
    assert (data["verdict"], data["enough_data"]) == ("inconclusive", False)
    assert data["canary_requests"] <= 101


def test_an_injected_sample_source_is_used(console: FastAPI, client: TestClient, tokens: TokenStore) -> None:
    class Fixed:
        def samples(self, rollout: str, *, window_s: float | None = None) -> SampleSet:
            return SampleSet(arm(3, 600), arm(4, 600, scale=2.0), f"fixed:{rollout}")

    console.state.analysis_source = Fixed()
    headers = {"Authorization": f"Bearer {_token(tokens)}"}
    data = client.get("/api/v1/analysis/argo", params={"rollout": "x"}, headers=headers).json()
    assert data["verdict"] == "fail"


def test_the_csv_source_names_its_files_with_digests(settings: Settings) -> None:
    folder = _samples(settings, "ns/app", 0.01)
    found = CsvDirectorySource(settings.data_dir / "deliver" / "samples").samples("ns/app")
    assert [Path(p).name for p, _ in found.files] == ["baseline.csv", "canary.csv"]
    assert all(d.startswith("sha256:") for _, d in found.files)
    assert found.files[0][0] == str(folder / "baseline.csv")


def test_every_answer_matches_the_openapi_document(client: TestClient, settings: Settings, tokens: TokenStore) -> None:
    check = OpenApiCheck(client.get("/openapi.json").json())
    _samples(settings, "prod/payments", 0.09)
    token = _token(tokens)
    headers = {"Authorization": f"Bearer {token}"}
    assert check(client.get("/api/v1/analysis/argo", params={"rollout": "prod/payments"}, headers=headers)).is_success
    rollback = client.post("/api/v1/analysis/flagger/rollback", json=_flagger("prod/payments", token))
    assert check(rollback).status_code == 200
    promote = client.post("/api/v1/analysis/flagger/confirm-promotion", json=_flagger("prod/payments", token))
    assert check(promote).status_code == 409
    unknown = client.post("/api/v1/analysis/flagger/pre-rollout", json=_flagger("prod/payments", token))
    assert check(unknown).status_code == 422
    assert unknown.json()["field"] == "hook"
    malformed = client.post("/api/v1/analysis/flagger/rollback", json={"metadata": {"token": token}})
    assert check(malformed).status_code == 422
    assert check(client.post("/api/v1/analysis/flagger/rollback", content=b"{")).status_code == 401
    assert {path for _, path, _ in check.seen} == {"/api/v1/analysis/argo", "/api/v1/analysis/flagger/{hook}"}
