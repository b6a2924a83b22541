"""The console's Pipelines page and API: READ only, declared models, the one error body, escaped logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import py, run, write_pipeline
from starlette.testclient import TestClient

from finpilot.audit import open_ledger
from finpilot.console import create_app, open_token_store
from finpilot.core import FakeClock, Settings
from finpilot.deliver import RunRecord

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def console(settings: Settings) -> Iterator[tuple[TestClient, str]]:
    """A console client and a viewer token."""
    with open_ledger(settings) as ledger, open_token_store(settings, clock=FakeClock()) as tokens:
        _info, viewer = tokens.create("viewer-user", "viewer")
        with TestClient(create_app(settings, ledger, tokens), base_url="http://testserver") as client:
            yield client, viewer


@pytest.fixture
def finished(tmp_path: Path, settings: Settings) -> RunRecord:
    noisy = "print('x' * 100000); print('<script>alert(1)</script>'); print('the end')"
    path = write_pipeline(
        tmp_path,
        {
            "test": {"type": "run", "command": py(noisy)},
            "gate": {"type": "run", "needs": ["test"], "command": ["false"]},
            "deploy": {"type": "run", "needs": ["gate"], "command": "true"},
        },
        name="payments",
    )
    return run(path, settings.data_dir, release="payments-1.4.0")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_needs_a_token(console: tuple[TestClient, str], finished: RunRecord) -> None:
    client, _ = console
    for url in (
        "/api/v1/pipelines/runs",
        f"/api/v1/pipelines/runs/{finished.id}",
        f"/api/v1/pipelines/runs/{finished.id}/steps/test/log",
    ):
        response = client.get(url)
        assert response.status_code == 401
        assert set(response.json()) == {"error", "message", "field", "fix"}
    assert client.get("/pipelines", follow_redirects=False).status_code == 303


def test_runs_and_one_run(console: tuple[TestClient, str], finished: RunRecord, settings: Settings) -> None:
    client, viewer = console
    listed = client.get("/api/v1/pipelines/runs", headers=_bearer(viewer)).json()
    (summary,) = listed["runs"]
    assert summary["id"] == finished.id
    assert summary["status"] == "failed"
    assert summary["counts"] == {"passed": 1, "failed": 1, "skipped": 1}
    one = client.get(f"/api/v1/pipelines/runs/{finished.id}", headers=_bearer(viewer)).json()
    assert [(s["name"], s["status"]) for s in one["steps"]] == [
        ("test", "passed"),
        ("gate", "failed"),
        ("deploy", "skipped"),
    ]
    assert one["release"] == "payments-1.4.0"
    assert one["pipeline_file"] == "pipeline.yaml"
    assert str(settings.data_dir) not in str(one)  # no server paths
    assert "argv" not in one["steps"][0]


def test_the_log_is_a_tail(console: tuple[TestClient, str], finished: RunRecord) -> None:
    client, viewer = console
    log = client.get(
        f"/api/v1/pipelines/runs/{finished.id}/steps/test/log", params={"tail": 100}, headers=_bearer(viewer)
    ).json()
    assert log["truncated"] is True
    assert log["size"] > 100_000
    assert log["log"].endswith("the end\n")
    assert len(log["log"]) == 100


def test_unknown_runs_steps_and_ids_are_the_one_error_body(
    console: tuple[TestClient, str], finished: RunRecord
) -> None:
    client, viewer = console
    missing = client.get("/api/v1/pipelines/runs/20260101T000000Z-00000000", headers=_bearer(viewer))
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFoundError"
    no_step = client.get(f"/api/v1/pipelines/runs/{finished.id}/steps/nope/log", headers=_bearer(viewer))
    assert no_step.status_code == 404
    bad = client.get("/api/v1/pipelines/runs/..%2F..%2Fetc", headers=_bearer(viewer))
    assert bad.status_code in (400, 404)
    assert set(bad.json()) == {"error", "message", "field", "fix"}
    too_much = client.get(
        f"/api/v1/pipelines/runs/{finished.id}/steps/test/log", params={"tail": 0}, headers=_bearer(viewer)
    )
    assert too_much.status_code == 422


def test_the_pages_show_runs_and_escape_logs(console: tuple[TestClient, str], finished: RunRecord) -> None:
    client, viewer = console
    assert client.post("/login", data={"token": viewer, "next": "/pipelines"}, headers=ORIGIN).status_code == 200
    page = client.get("/pipelines")
    assert page.status_code == 200
    assert 'href="/pipelines"' in page.text  # in the navigation
    assert finished.id in page.text
    assert 'class="step-failed" data-step="gate"' in page.text
    detail = client.get(f"/pipelines/{finished.id}")
    assert detail.status_code == 200
    assert "payments-1.4.0" in detail.text
    log = client.get(f"/pipelines/{finished.id}/steps/test/log")
    assert log.status_code == 200
    assert "<script>alert(1)</script>" not in log.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in log.text
    assert "only the end is shown" in log.text


def test_the_openapi_document_declares_the_routes(console: tuple[TestClient, str]) -> None:
    client, _ = console
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/pipelines/runs",
        "/api/v1/pipelines/runs/{run_id}",
        "/api/v1/pipelines/runs/{run_id}/steps/{step}/log",
    ):
        answer = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer["$ref"].startswith("#/components/schemas/")
        assert "401" in paths[path]["get"]["responses"]
