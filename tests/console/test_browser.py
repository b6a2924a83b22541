"""The console in a real browser: log in, read the Audit page, verify, download a proof."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_helpers import running_server

from finpilot.audit import Entry, open_ledger, verify_inclusion_proof
from finpilot.console import open_token_store
from finpilot.core import Settings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
@pytest.mark.slow
def test_audit_page_in_chromium(chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings = Settings(data_dir=tmp_path / "data")
    with open_ledger(settings) as ledger:
        ledger.append_many(
            [
                Entry(
                    kind="custom.deploy", actor="pipeline:main", action="promote", subject=f"service:s{i}", outcome="ok"
                )
                for i in range(5)
            ]
        )
        ledger.checkpoint()
        verifier_key = ledger.verifier_key()
    with open_token_store(settings) as tokens:
        _info, token = tokens.create("browser-auditor", "auditor")

    problems: list[str] = []
    with running_server(settings.data_dir, tmp_path) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            # A CSP violation or a failed asset load shows up here; the console should have none.
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))

            page.goto(f"{server.url}/audit")
            expect(page).to_have_url(f"{server.url}/login?next=%2Faudit")
            page.fill("#token", token)
            page.click("#login-button")
            expect(page).to_have_url(f"{server.url}/audit")

            expect(page.locator("#main-nav")).to_contain_text("Audit")
            expect(page.locator("#entries tbody tr")).to_have_count(7)  # 5 seeded, the start record, the login record
            expect(page.locator("#checkpoint-note")).to_contain_text(settings.audit.origin)
            expect(page.locator("#public-key")).to_have_text(verifier_key)

            page.click("#verify-button")
            expect(page.locator("#verify-result")).to_contain_text("verified", timeout=30_000)

            with page.expect_download() as pending:
                page.locator(".proof-link").last.click()
            saved = tmp_path / "proof.json"
            pending.value.save_as(saved)
            proof = json.loads(saved.read_text())
            assert "hashes" in proof
            assert "root_hash" in proof
            assert proof["index"] == 0
            assert verify_inclusion_proof(proof, verifier_key)

            page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
            context.close()
        finally:
            browser.close()
        output = server.stop()
    assert server.process.returncode == 0, output
    assert (tmp_path / "audit.png").stat().st_size > 0
    assert problems == []
    with open_ledger(settings) as ledger:
        records = [e.fields for e in ledger.tail(ledger.size) if e.fields["kind"] == "console.request"]
    assert {(r["action"], r["actor"], r["outcome"]) for r in records} == {
        ("POST /login", "token:browser-auditor", "303"),
        ("POST /api/v1/audit/verify", "token:browser-auditor", "200"),
    }
