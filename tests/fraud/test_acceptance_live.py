"""Acceptance 2 (issue 3): the payments service, in-process scoring and live traffic, 200 payments/s for 60 s.

The payments app runs on a real port (uvicorn with uvloop and httptools when installed, SQLite)
and asks the fraud engine in-process before every authorization; freezes reach it through an
:class:`~finpilot.fraud.AccountSync`. ``finpilot traffic run`` drives it from a separate process
(as a real client would, and so that the load generator does not share the server's interpreter)
with injected, labelled fraud, and reports every outcome per scenario. The test measures and
prints the share of each fraud scenario that is declined or reviewed, and holds it above a floor.

This ran at 50/s until 2026-11-29: the service saturated at 73-103/s. Most of that ceiling was not
the service's CPU. The load generator's httpx pool cost about 6 ms of CPU per request (it now
writes raw HTTP/1.1, about 0.3 ms), and every SQLite commit fsynced under the one connection's
lock, so reads and writes queued behind the disk (writes now share an fsync, outside the lock).
On 2026-11-29 this test held 200.0/s in each of four runs: client p50 2.6-4.1 ms and p99
13-19 ms at a load average of 1.3-2.9, p50 3-9 ms and p99 157-195 ms at 4-7 (other suites
sharing the 2 cores). The server's CPU was about 2.9 ms per authorization, 0.6 of a core at
200/s; it serves up to about 390/s. See docs/benchmarks.md.

Floors, from six runs of this very setup (seed 3; at 200/s for 60 s exactly the 12,000
payments of the calibration run are sent; declined+reviewed of decided): compromised customer
99-101/136 (73-74 %), amounts over 220 1-2/5, compromised terminal 2/54, legitimate payments
declined 192-202/11,805 (1.6-1.7 %, including the payments refused because a freezing decision
froze their account, as it should). For 136 payments at 73 % the binomial spread is about
4 points, so the floors sit three spreads under the measured share:

- a compromised customer pays five times its usual amount, which the customer-history features
  see after a few payments: at least 60 % caught;
- amounts above 220 are too rare in a minute (about 5) for a floor of their own, so they count
  with the compromised customers in a combined floor of 60 % (measured 101-102/141, 72 %);
- a compromised terminal is visible only through terminal risk, which needs fraud labels 7 days
  late; a minute of live traffic has none, so its rate is reported, not held to a floor;
- legitimate payments: at most 3 % declined (about 10 spreads above the 1.7 % measured: a
  regression that declines many good payments fails, the freeze cascade's noise does not).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from finpilot_payments import CallableDecider, NotFoundError, PaymentsSettings, create_app, settle_heap
from live_helpers import PAYMENTS_TOKEN, PaymentsClient, serve_in_thread

from finpilot.audit import open_ledger
from finpilot.core import Settings, luhn_test_card
from finpilot.fraud import (
    AccountSync,
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    Scorer,
    Thresholds,
    load_artifact,
    payments_decider,
)

RATE = 200
DURATION_S = 60
CUSTOMERS = 500
TERMINALS = 1000
SEED = 3
RATE_TOLERANCE = 0.10
"""The achieved dispatch rate must be within 10 % of the target."""

CAUGHT_FLOORS = {("compromised_customer",): 0.60, ("amount_over_220", "compromised_customer"): 0.60}
"""Least share of these scenarios' decided payments declined or reviewed (see the module docstring)."""
GENUINE_DECLINE_CEILING = 0.03
"""Most share of legitimate payments declined (calibration: 1.6 %)."""


def _caught(rows: list[dict[str, int]]) -> float | None:
    decided = sum(row["approved"] + row["reviewed"] + row["declined"] for row in rows)
    return None if decided == 0 else sum(row["reviewed"] + row["declined"] for row in rows) / decided


def _kinds(ledger: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    end = ledger.size
    while end > 0:
        page = ledger.tail(min(end, 10_000), before=end)
        for stored in page:
            kind = stored.fields["kind"]
            counts[kind] = counts.get(kind, 0) + 1
        end -= len(page)
    return counts


@pytest.fixture
def unfreeze_after() -> Iterator[None]:
    """Give the objects :func:`settle_heap` froze back to the garbage collector after the test."""
    yield
    gc.unfreeze()


@pytest.mark.slow
@pytest.mark.usefixtures("unfreeze_after")
def test_live_traffic_is_decided_in_line_and_the_books_balance(
    tmp_path: Path, tiny_fraud_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_ledger(Settings(data_dir=tmp_path / "fp")) as ledger:
        fraud = FraudService(
            Scorer(FeatureEngine(), load_artifact(tiny_fraud_model)),
            DecisionPolicy(Thresholds(review=0.5, decline=0.8, freeze=0.98)),
            ledger,
        )
        app = create_app(
            PaymentsSettings(data_dir=tmp_path / "payments", bootstrap_token=PAYMENTS_TOKEN),
            decider=CallableDecider(payments_decider(fraud)),  # type: ignore[arg-type]
        )
        service = app.state.service

        def set_frozen(account_id: str, frozen: bool, key: str) -> None:
            with contextlib.suppress(NotFoundError):
                service.set_frozen(key, account_id, frozen=frozen)

        fraud.add_observer(AccountSync(set_frozen))
        # As `python -m finpilot_payments` does before serving. Here it matters more: the heap of
        # this pytest process (every module, fixture and model so far) made full collections
        # pause the server for 100-300 ms each.
        settle_heap()
        with serve_in_thread(app) as url:
            argv = [sys.executable, "-m", "finpilot.cli", "traffic", "run", "--url", url, "--json"]
            argv += ["--rate", str(RATE), "--duration", str(DURATION_S), "--seed", str(SEED)]
            argv += ["--customers", str(CUSTOMERS), "--terminals", str(TERMINALS)]
            env = {**os.environ, "FINPILOT_PAYMENTS_TOKEN": PAYMENTS_TOKEN}  # the CLI's default reference
            run = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False, env=env)
            assert run.returncode == 0, run.stderr[-3000:]
            report = json.loads(run.stdout)

            scenarios = report["scenarios"]
            caught = {name: _caught([row]) for name, row in scenarios.items()}
            fraud_rows = [row for name, row in scenarios.items() if name != "genuine"]
            caught["all_injected_fraud"] = _caught(fraud_rows)
            genuine = report["scenarios"]["genuine"]
            genuine_declined = genuine["declined"] / max(1, genuine["sent"] - genuine["errors"])
            measured = {
                "achieved_rate": report["achieved_rate"],
                "sent": report["sent"],
                "errors": report["errors"],
                "late_sends": report["late_sends"],
                "latency_ms": report["latency_ms"],
                "caught_share": {k: None if v is None else round(v, 4) for k, v in caught.items()},
                "genuine_decline_share": round(genuine_declined, 5),
                "scenarios": report["scenarios"],
            }
            with capsys.disabled():
                print("\nacceptance 2, measured:", json.dumps(measured))

            assert report["sent"] == RATE * DURATION_S, measured
            assert report["errors"] == 0, measured
            for names, floor in CAUGHT_FLOORS.items():
                share = _caught([scenarios[name] for name in names])
                assert share is not None, (names, measured)
                assert share >= floor, (names, share, measured)
            assert genuine_declined <= GENUINE_DECLINE_CEILING, measured

            # Every payment the decider saw is one decision in the ledger. The report counts the 403s
            # of accounts frozen meanwhile among "declined", and those never reach the decider.
            decisions = _kinds(ledger).get("fraud.decision", 0)
            assert report["approved"] + report["reviewed"] <= decisions <= report["sent"], (decisions, measured)

            # A frozen account's next payment is refused.
            payments = PaymentsClient(url)
            try:
                account, card, merchant = payments.customer_with_card(luhn_test_card(random.Random(99)))
                fraud.freeze_account(account, actor="analyst:acceptance", reason="confirmed fraud")
                refused = payments.authorize(card, merchant, 1_000)
                assert refused.status_code == 403, refused.text
                assert payments.http.get(f"/v1/accounts/{account}").json()["held"] == 0
                # And the books still balance: every transaction, and the total over all accounts.
                books = payments.http.get("/v1/ledger/check").json()
            finally:
                payments.close()
        assert books["balanced"], books
        assert set(books["totals"].values()) == {0}, books
        assert ledger.verify().ok
    # Last, so that on a loaded machine every other check has run when this one fails: the rate
    # depends on the two cores being free, the rest does not.
    assert abs(report["achieved_rate"] - RATE) <= RATE_TOLERANCE * RATE, measured
