"""The webhook sink against a real HTTP server on 127.0.0.1: signed bodies, retries, bounded queue, no leaks."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from finpilot.core import SIGNATURE_HEADER, ConfigError, FraudAlertSettings, SecretRef
from finpilot.fraud import WebhookSink
from finpilot.fraud._alerts import Alert

SECRET = "whsec-test-0123456789abcdef"
PATH_TOKEN = "hook-path-credential-42"


class Receiver:
    """A tiny webhook receiver: answers with the scripted statuses (then 200) and records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers), body))
                receiver.arrived.set()
                receiver.hold.wait(10)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # keep pytest's output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts/{PATH_TOKEN}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver serving on a free port until the test ends."""
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.hold.set()
    found.server.shutdown()
    found.server.server_close()


def alert(n: int = 1) -> Alert:
    return Alert(
        alert_id=f"a{n}",
        kind="decline",
        account="c1",
        severity="warning",
        reasons=("score 0.910 >= decline threshold 0.8",),
        evidence={"transaction_id": f"tx{n}", "score": 0.91},
        time=datetime(2026, 1, 1, tzinfo=UTC),
        audit_index=n,
    )


def sink_for(receiver: Receiver, **options: float) -> WebhookSink:
    return WebhookSink(receiver.url, SECRET.encode(), **{"timeout_s": 5.0, "backoff_s": 0.01, **options})  # type: ignore[arg-type]


def test_the_body_is_the_alert_and_the_signature_checks_out(receiver: Receiver) -> None:
    sink = sink_for(receiver)
    try:
        sink.send(alert())
        assert sink.flush(10)
    finally:
        sink.close()
    [(headers, body)] = receiver.requests
    assert json.loads(body) == alert().to_json()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    assert headers["X-Finpilot-Alert-Id"] == "a1"
    assert headers["Content-Type"] == "application/json"
    assert SECRET not in json.dumps(headers)
    assert SECRET.encode() not in body
    assert sink.stats() == {"queued": 1, "sent": 1, "failed": 0, "dropped": 0, "retries": 0, "pending": 0}


def test_a_5xx_is_retried_and_nothing_secret_is_logged(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.statuses = [500, 503]
    sink = sink_for(receiver, max_attempts=3)
    try:
        sink.send(alert())
        assert sink.flush(10)
    finally:
        sink.close()
    assert len(receiver.requests) == 3
    assert len({body for _, body in receiver.requests}) == 1  # the same signed body each time
    assert (sink.stats()["sent"], sink.stats()["retries"]) == (1, 2)
    assert "HTTP 500" in caplog.text
    assert "127.0.0.1" in caplog.text
    assert SECRET not in caplog.text
    assert PATH_TOKEN not in caplog.text  # the URL's path may be a credential: logs name the host only


def test_delivery_gives_up_after_max_attempts_and_a_4xx_is_not_retried(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [500, 500, 400]
    sink = sink_for(receiver, max_attempts=2)
    try:
        sink.send(alert(1))  # 500, 500: given up
        sink.send(alert(2))  # 400: refused at once
        assert sink.flush(10)
    finally:
        sink.close()
    assert len(receiver.requests) == 3
    assert (sink.stats()["sent"], sink.stats()["failed"], sink.stats()["retries"]) == (0, 2, 1)
    assert "not delivered" in caplog.text
    assert "refused" in caplog.text
    assert SECRET not in caplog.text
    assert PATH_TOKEN not in caplog.text


def test_an_unreachable_webhook_is_retried_then_given_up() -> None:
    sink = WebhookSink("http://127.0.0.1:9/alerts", SECRET.encode(), timeout_s=1, max_attempts=2, backoff_s=0.01)
    try:
        sink.send(alert())
        assert sink.flush(15)
    finally:
        sink.close()
    assert (sink.stats()["failed"], sink.stats()["retries"]) == (1, 1)


def test_a_full_queue_drops_and_counts_and_send_never_waits(receiver: Receiver) -> None:
    receiver.hold.clear()  # the receiver sits on the first request
    sink = sink_for(receiver, queue_size=1)
    try:
        sink.send(alert(1))
        assert receiver.arrived.wait(10)  # the worker is busy with alert 1
        started = time.perf_counter()
        for n in (2, 3, 4):
            sink.send(alert(n))
        assert time.perf_counter() - started < 0.5  # generous: the point is that nothing waits on the network
        assert sink.stats()["dropped"] == 2
        receiver.hold.set()
        assert sink.flush(10)
    finally:
        sink.close()
    assert [json.loads(body)["alert_id"] for _, body in receiver.requests] == ["a1", "a2"]
    assert sink.stats()["sent"] == 2


def test_settings_name_the_secret_variable_never_the_secret() -> None:
    with pytest.raises(ValidationError, match="webhook_url needs secret"):
        FraudAlertSettings(webhook_url="https://hooks.example/x")
    settings = FraudAlertSettings(webhook_url="https://hooks.example/x", secret=SecretRef(env="FP_TEST_WEBHOOK_SECRET"))
    with pytest.raises(ConfigError, match="FP_TEST_WEBHOOK_SECRET") as caught:
        WebhookSink.from_settings(settings, environ={})
    assert caught.value.field == "fraud.alerts.secret"
    sink = WebhookSink.from_settings(settings, environ={"FP_TEST_WEBHOOK_SECRET": SECRET})
    try:
        assert SECRET not in repr(sink)
        assert "/x" not in repr(sink)
        assert SECRET not in settings.model_dump_json()
    finally:
        sink.close()


def test_close_delivers_what_is_queued(receiver: Receiver) -> None:
    sink = sink_for(receiver)
    for n in range(5):
        sink.send(alert(n))
    sink.close(timeout=10)
    assert len(receiver.requests) == 5
    sink.send(alert(9))  # after close: counted as dropped, never raised
    assert sink.stats()["dropped"] == 1


@pytest.mark.slow  # a fresh interpreter importing finpilot.fraud (numpy, lightgbm) takes a few seconds
def test_queued_alerts_go_out_when_the_process_exits(receiver: Receiver, tmp_path: Path) -> None:
    script = tmp_path / "exit_after_send.py"
    script.write_text(
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from finpilot.fraud import WebhookSink\n"
        "from finpilot.fraud._alerts import Alert\n"
        "sink = WebhookSink(sys.argv[1], b'secret')\n"
        "for n in range(3):\n"
        "    sink.send(Alert(f'x{n}', 'decline', 'c1', 'warning', (), {}, datetime.now(UTC), n))\n"
        "# no close(): the process just ends\n"
    )
    done = subprocess.run([sys.executable, str(script), receiver.url], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(body)["alert_id"] for _, body in receiver.requests) == ["x0", "x1", "x2"]
