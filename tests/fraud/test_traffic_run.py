"""``finpilot traffic run`` against a real payments service on loopback: rate, counts, no PAN."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_helpers import PAYMENTS_TOKEN, bearer, token_file
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.core import luhn_test_card

SEED = 1
CUSTOMERS = 20


@pytest.fixture(scope="module")
def payments_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The payments service in a subprocess on 127.0.0.1, port 0; its URL and its log file.

    Its bootstrap token is in ``work/secrets/payments-token`` (chmod 600), named by reference on both sides.
    """
    work = tmp_path_factory.mktemp("payments")
    log = work / "server.log"
    ref = token_file(work / "secrets")
    with log.open("w") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "finpilot_payments", "--port", "0", "--data-dir", str(work / "data")],
            stdout=subprocess.PIPE,
            stderr=log_fh,
            text=True,
            env={**os.environ, "PAYMENTS_BOOTSTRAP_TOKEN_FILE": str(ref.file)},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "listening on http://127.0.0.1:" in line, line + log.read_text()
            yield line.split("listening on ")[1].strip(), log
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            assert proc.stdout is not None
            proc.stdout.close()


def test_run_sends_at_the_rate_counts_add_up_and_shows_no_pan(
    payments_url: tuple[str, Path], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    url, log = payments_url
    caplog.set_level(logging.DEBUG)
    args = ["--url", url, "--rate", "50", "--duration", "3", "--seed", str(SEED), "--customers", str(CUSTOMERS)]
    result = CliRunner().invoke(
        app,
        [
            "traffic",
            "run",
            *args,
            "--terminals",
            "40",
            "--fraud-rate",
            "0.1",
            "--capture-share",
            "1",
            "--population-out",
            str(tmp_path / "pop.json"),
            "--token-file",
            str(log.parent / "secrets" / "payments-token"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sent"] == 150
    # Paced, never ahead of the asked rate; behind it only as far as a loaded 2-core machine explains.
    assert 0.5 * 50 <= report["achieved_rate"] <= 1.15 * 50, report
    assert report["sent"] == report["approved"] + report["reviewed"] + report["declined"] + report["errors"]
    assert report["errors"] == 0, report
    assert report["approved"] == report["captured"]  # the allow-all decider approves everything
    per_pattern = report["scenarios"]
    assert sum(row["sent"] for row in per_pattern.values()) == report["sent"]
    for row in per_pattern.values():
        assert row["sent"] == row["approved"] + row["reviewed"] + row["declined"] + row["errors"]
    assert per_pattern["genuine"]["sent"] < report["sent"]  # some fraud was injected at 10 %
    assert report["latency_ms"]["p50"] is not None
    assert report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]

    population = json.loads((tmp_path / "pop.json").read_text())
    assert len(population["customers"]) == CUSTOMERS
    assert len(population["terminals"]) == 40

    books = httpx.get(f"{url}/v1/ledger/check", timeout=10, headers=bearer()).json()
    assert books["balanced"], books

    cards = random.Random(f"cards-{SEED}")
    pans = [luhn_test_card(cards) for _ in range(CUSTOMERS)]
    texts = [result.output, log.read_text(), caplog.text, (tmp_path / "pop.json").read_text()]
    for pan in pans:
        assert all(pan not in text and pan[-12:] not in text for text in texts)
    assert all(PAYMENTS_TOKEN not in text for text in texts)


def test_run_without_a_token_is_refused_by_the_service(payments_url: tuple[str, Path]) -> None:
    url, _ = payments_url
    result = CliRunner().invoke(app, ["traffic", "run", "--url", url, "--duration", "1", "--token-env", "NO_SUCH_VAR"])
    assert result.exit_code == 1, result.output
    assert "HTTP 401" in result.output
    assert "admin scope" in result.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--url", "ftp://x"], "--url"),
        (["--url", "http://127.0.0.1:9", "--rate", "0"], "--rate"),
        (["--url", "http://127.0.0.1:9", "--duration", "-1"], "--duration"),
        (["--url", "http://127.0.0.1:9", "--fraud-rate", "0.9"], "--fraud-rate"),
        (["--url", "http://127.0.0.1:9", "--shift", "amount_scale=oops"], "--shift"),
        (["--url", "http://127.0.0.1:9", "--concurrency", "0"], "--concurrency"),
        (["--rate", "5"], "--url"),
    ],
)
def test_bad_run_arguments_exit_2_naming_the_option(args: list[str], option: str) -> None:
    result = CliRunner().invoke(app, ["traffic", "run", *args])
    assert result.exit_code == 2, result.output
    assert option in result.output


def test_an_unreachable_service_is_a_clear_error() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    result = CliRunner().invoke(app, ["traffic", "run", "--url", "http://127.0.0.1:9", "--duration", "1", "--json"])
    assert result.exit_code == 1, result.output
    assert "cannot reach the payments service" in result.output
