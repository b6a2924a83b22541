"""The Incidents and Runtime pages in a real browser: the timeline refreshes itself under the CSP, no errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_helpers import serve_in_thread
from test_browser import CHROMIUM_ARGS

from finpilot.audit import Entry, EntryKind, open_ledger
from finpilot.audit.kinds import CHAOS_INJECT, HEAL_RECOVERED, HEAL_RESTART
from finpilot.console import create_app, open_token_store
from finpilot.core import Settings


def heal(kind: EntryKind[Any], action: str, subject: str, outcome: str, **evidence: object) -> Entry:
    return kind.entry(actor="healer:local", action=action, subject=subject, outcome=outcome, evidence=evidence)


@pytest.mark.browser
@pytest.mark.slow
def test_incidents_page_in_chromium(chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings = Settings(data_dir=tmp_path / "data")
    problems: list[str] = []
    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        _info, viewer = tokens.create("browser-viewer", "viewer")
        ledger.append(heal(CHAOS_INJECT, "kill", "replica:payments/0", "injected", instance="payments/0@n1"))
        ledger.append(heal(HEAL_RESTART, "restart", "replica:payments/0@n1", "ok", instance="payments/0@n1"))
        app = create_app(settings, ledger, tokens)
        with serve_in_thread(app, lifespan="off") as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
                page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
                page.goto(f"{url}/incidents")
                page.fill("#token", viewer)
                page.click("#login-button")
                expect(page).to_have_url(f"{url}/incidents")
                incident = page.locator("#incident-0")
                expect(incident).to_have_attribute("data-status", "open")
                expect(incident.locator("svg.timeline circle")).to_have_count(2)

                # Recovery lands in the ledger: the page shows it without a reload.
                # (logging in wrote entries of its own, so the recovery's index is whatever append says)
                recovered = {
                    "instance": "payments/0@n1",
                    "node": "n1",
                    "cause": "heal.restart",
                    "cause_action": "restart",
                }
                done = ledger.append(
                    heal(
                        HEAL_RECOVERED,
                        "ready",
                        "replica:payments/0",
                        "ok",
                        slot="payments/0",
                        since_cause_s=0.8,
                        **recovered,
                    )
                )
                expect(incident).to_have_attribute("data-status", "recovered", timeout=15_000)
                expect(incident.locator(".entry-link")).to_have_text(["#0", "#1", f"#{done}"])
                page.screenshot(path=str(tmp_path / "incidents.png"), full_page=True)

                page.click('#main-nav a[href="/runtime"]')
                expect(page.locator("#runtime-problem")).to_have_text("the runtime is not running")
            finally:
                browser.close()
    assert (tmp_path / "incidents.png").stat().st_size > 0
    assert problems == []
