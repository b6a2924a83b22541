"""The Fraud page in a real browser: live numbers after scoring, auto-refresh, freeze and unfreeze, the drift
card (PSI chart and table, ADWIN), no CSP errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from drift_helpers import drifted_monitor
from server_helpers import serve_in_thread
from test_browser import CHROMIUM_ARGS

from finpilot.audit import open_ledger
from finpilot.console import create_app, open_token_store
from finpilot.core import FraudSettings, Settings

T0 = 1_600_000_000


@pytest.mark.browser
@pytest.mark.slow
def test_fraud_page_in_chromium(chromium: str, tmp_path: Path, tiny_fraud_model: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fraud = FraudSettings(model_dir=tiny_fraud_model, review_threshold=0, decline_threshold=0, freeze_threshold=1)
    settings = Settings(data_dir=tmp_path / "data", fraud=fraud)
    problems: list[str] = []
    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        _info, operator = tokens.create("browser-operator", "operator")
        app = create_app(settings, ledger, tokens)
        app.state.console.fraud_drift = drifted_monitor(ledger, tiny_fraud_model)
        with serve_in_thread(app, lifespan="off") as url:
            api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {operator}"}, timeout=30)

            def score(n: int, customer: str, amount: float) -> str:
                body = {"transaction_id": f"tx{n}", "time": T0 + n, "customer_id": customer, "terminal_id": "t1"}
                response = api.post("/api/v1/fraud/scores", json={**body, "amount": amount})
                assert response.status_code == 200, response.text
                return str(response.json()["decision"])

            for n in range(12):
                score(n, f"cust-{n % 3}", 20.0 + n)
            assert api.post("/api/v1/fraud/accounts/cust-9/freeze", json={"reason": "card testing"}).status_code == 200

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
                    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
                    page.goto(f"{url}/fraud")
                    page.fill("#token", operator)
                    page.click("#login-button")
                    expect(page).to_have_url(f"{url}/fraud")
                    expect(page.locator("#decisions-total")).to_have_text("12")
                    expect(page.locator("#per-minute rect").first).to_be_visible()
                    expect(page.locator("#top-reasons tbody tr").first).to_contain_text("threshold")
                    expect(page.locator("#frozen-accounts")).to_contain_text("cust-9")
                    expect(page.locator("#alerts tbody tr")).to_have_count(4)  # cust-0..2 and the freeze of cust-9
                    # Drift: a table and a chart drawn by the server, kept (not overwritten) by the refresh.
                    rows = page.locator("#psi-table tbody tr")
                    expect(rows).to_have_count(6)  # the score and the monitor's 5 highest features
                    expect(rows.first).to_have_attribute("data-band", "significant")
                    expect(page.locator("#psi-chart rect.psi-bar")).to_have_count(6)
                    expect(page.locator("#adwin-labels")).to_have_text("120")

                    # The page refreshes itself: more scoring shows up without a reload.
                    for n in range(12, 20):
                        score(n, "cust-5", 30.0)
                    expect(page.locator("#decisions-total")).to_have_text("20", timeout=15_000)
                    # The drift card is swapped for the server's fresh copy (the marked old table goes) and still reads.
                    page.locator("#psi-table").evaluate("table => { table.dataset.stale = 'yes'; }")
                    expect(page.locator("#psi-table[data-stale]")).to_have_count(0, timeout=15_000)
                    expect(rows).to_have_count(6)
                    expect(page.locator("#drift-badge")).to_have_text("drift")

                    # Freeze from the form, unfreeze from the table; both land in the ledger.
                    page.fill("#freeze-customer", "cust-5")
                    page.fill("#freeze-reason", "seen in the browser")
                    page.click("#freeze-button")
                    expect(page.locator("#fraud-action-result")).to_contain_text("cust-5 frozen")
                    expect(page.locator("#frozen-accounts")).to_contain_text("cust-5")
                    page.click('.unfreeze-button[data-customer="cust-9"]')
                    expect(page.locator("#fraud-action-result")).to_contain_text("cust-9 unfrozen")
                    expect(page.locator("#frozen-accounts")).not_to_contain_text("cust-9")
                    page.screenshot(path=str(tmp_path / "fraud.png"), full_page=True)
                finally:
                    browser.close()
            api.close()
        accounts = [
            (e.fields["action"], e.fields["actor"], e.fields["subject"])
            for e in reversed(ledger.tail(ledger.size))
            if e.fields["kind"] == "fraud.account"
        ]
    assert accounts == [
        ("freeze", "token:browser-operator", "account:cust-9"),
        ("freeze", "token:browser-operator", "account:cust-5"),
        ("unfreeze", "token:browser-operator", "account:cust-9"),
    ]
    assert (tmp_path / "fraud.png").stat().st_size > 0
    assert problems == []
