"""Probes, metrics, the version setting and the entrypoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from finpilot_payments import PaymentsSettings, __version__, create_app
from payments_helpers import ADMIN_TOKEN, Bank, bearer
from starlette.testclient import TestClient


def test_healthz_readyz_and_version_header(bank: Bank) -> None:
    health = bank.client.get("/healthz")
    assert health.json() == {"status": "ok", "version": __version__}
    assert health.headers["X-Payments-Version"] == __version__
    ready = bank.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert "password" not in ready.text


def test_readyz_is_503_when_the_database_is_gone(sqlite_settings: PaymentsSettings) -> None:
    app = create_app(sqlite_settings)
    with TestClient(app) as client:
        app.state.service.db.close()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"


def test_version_comes_from_the_environment(sqlite_settings: PaymentsSettings) -> None:
    settings = PaymentsSettings.from_env({"PAYMENTS_VERSION": "2.0.0-canary"}, data_dir=sqlite_settings.data_dir)
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
        assert response.json()["version"] == "2.0.0-canary"
        assert response.headers["X-Payments-Version"] == "2.0.0-canary"


def test_metrics_count_requests_latency_errors_and_decisions(bank: Bank) -> None:
    f = bank.funded()
    bank.authorize(f.card, f.merchant, 100)
    bank.authorize(f.card, f.merchant, -1)
    bank.transfer(f.customer, f.merchant, 10**9)
    text = bank.client.get("/metrics").text
    assert 'payments_requests_total{method="POST",route="/v1/authorizations",status="201"} 1.0' in text
    assert 'payments_request_seconds_bucket{le="0.005",method="POST",route="/v1/authorizations"}' in text
    assert 'payments_errors_total{error="InputError",route="/v1/authorizations"} 1.0' in text
    assert 'payments_errors_total{error="InsufficientFundsError",route="/v1/transfers"} 1.0' in text
    assert 'payments_decisions_total{action="approve"} 1.0' in text
    # Each app has its own registry: a second app starts from zero.
    other = TestClient(create_app(PaymentsSettings(), database=bank.db))
    assert "payments_decisions_total{" not in other.get("/metrics").text
    other.close()


def test_the_entrypoint_serves_and_prints_its_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The token by reference (a chmod 600 file), never on the command line.
    (tmp_path / "token").write_text(ADMIN_TOKEN + "\n")
    (tmp_path / "token").chmod(0o600)
    monkeypatch.delenv("PAYMENTS_BOOTSTRAP_TOKEN", raising=False)
    env = {**os.environ, "PAYMENTS_VERSION": "9.9.9", "PAYMENTS_BOOTSTRAP_TOKEN_FILE": str(tmp_path / "token")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "finpilot_payments", "--port", "0", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + (proc.stderr.read() if proc.stderr else "")
        url = line.split("listening on ")[1].strip()
        response = httpx.get(f"{url}/healthz", timeout=10)
        assert response.json() == {"status": "ok", "version": "9.9.9"}
        created = httpx.post(
            f"{url}/v1/accounts",
            json={"kind": "customer", "currency": "EUR"},
            headers={"Idempotency-Key": "1", **bearer(ADMIN_TOKEN)},
        )
        assert created.status_code == 201
        refused = httpx.post(f"{url}/v1/accounts", json={"kind": "customer", "currency": "EUR"})
        assert refused.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == 0
    assert (tmp_path / "d" / "payments.db").exists()


def test_the_entrypoint_reports_a_busy_port_as_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "finpilot_payments", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 2
    assert "cannot listen" in done.stderr
