"""The Rollouts page and API: rollouts from the store, charts and verdicts; operators queue actions, viewers cannot."""

from __future__ import annotations

from pathlib import Path

from console_helpers import MakeToken, TestClient, bearer, console_entries

from finpilot.audit import Ledger
from finpilot.core import Settings
from finpilot.deliver import RolloutConfig, RolloutRecord, RolloutStore, store_path
from finpilot.deliver._rollout._record import AnalysisPoint

ORIGIN = {"Origin": "http://testserver"}


def _seed(data_dir: Path, phase: str = "progressing", rollout_id: str = "payments-2.0") -> RolloutStore:
    store = RolloutStore(store_path(data_dir))
    metrics = [
        {"name": "error_rate", "baseline": 0.0, "canary": c, "statistic": 1.0, "p_value": 0.2, "effect_size": c,
         "outcome": "pass", "critical": True, "reason": ""}
        for c in (0.01,)
    ]  # fmt: skip
    record = RolloutRecord(
        id=rollout_id,
        service="payments",
        release=rollout_id,
        env={"PAYMENTS_VERSION": rollout_id},
        stable_env={},
        stable_replicas=2,
        config=RolloutConfig(),
        phase=phase,  # type: ignore[arg-type]
        weight=25,
        created_at=1.0,
        updated_at=2.0,
        phase_since=1.0,
        analyses=[
            AnalysisPoint(
                at=t,
                step=0,
                weight=25,
                verdict="pass",
                enough_data=True,
                reason="fine",
                baseline_requests=150,
                canary_requests=151,
                metrics=metrics,
                action="wait",
            )
            for t in (10.0, 15.0, 20.0)
        ],
    )
    store.save(record)
    return store


def test_viewers_read_the_rollouts_and_the_page_draws_each_metric(
    client: TestClient, make_token: MakeToken, settings: Settings
) -> None:
    viewer = make_token("viewer")
    assert client.get("/api/v1/rollouts").status_code == 401
    assert client.get("/api/v1/rollouts", headers=bearer(viewer)).json() == {"rollouts": []}
    _seed(settings.data_dir)
    listed = client.get("/api/v1/rollouts", headers=bearer(viewer)).json()["rollouts"]
    assert [(r["id"], r["phase"], r["weight"]) for r in listed] == [("payments-2.0", "progressing", 25)]
    one = client.get("/api/v1/rollouts/payments-2.0", headers=bearer(viewer)).json()
    assert len(one["analyses"]) == 3
    missing = client.get("/api/v1/rollouts/nope", headers=bearer(viewer))
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "message", "field", "fix"}
    response = client.post("/login", data={"token": viewer, "next": "/rollouts"}, headers=ORIGIN)
    assert response.status_code == 200
    page = client.get("/rollouts").text
    assert 'id="chart-error_rate"' in page
    assert "<polyline" in page
    assert "25%" in page
    assert 'href="/rollouts"' in page  # in the navigation


def test_operators_queue_actions_viewers_are_refused_and_requests_are_audited(
    client: TestClient, make_token: MakeToken, settings: Settings, ledger: Ledger
) -> None:
    store = _seed(settings.data_dir)
    viewer, operator = make_token("viewer"), make_token("operator", "olga")
    refused = client.post("/api/v1/rollouts/payments-2.0/pause", json={}, headers=bearer(viewer))
    assert refused.status_code == 403
    assert store.take("payments-2.0") == []
    for action in ("pause", "resume", "promote", "abort"):
        done = client.post(f"/api/v1/rollouts/payments-2.0/{action}", json={}, headers=bearer(operator))
        assert done.status_code == 200, done.text
        assert done.json() == {"id": "payments-2.0", "requested": action, "phase": "progressing"}
    assert store.take("payments-2.0") == [(a, "token:olga") for a in ("pause", "resume", "promote", "abort")]
    audited = [e["action"] for e in console_entries(ledger) if "rollouts" in e["action"]]
    assert len(audited) == 4
    assert client.post("/api/v1/rollouts/nope/abort", json={}, headers=bearer(operator)).status_code == 404
    _seed(settings.data_dir, phase="promoted", rollout_id="payments-1.0")
    assert client.post("/api/v1/rollouts/payments-1.0/abort", json={}, headers=bearer(operator)).status_code == 404
    assert client.post("/api/v1/rollouts/payments-2.0/abort", headers=bearer(operator)).status_code == 422
