"""Acceptance 1: on a copy of the payments example, each fintech flaw fails the gate, with file, line and CWE
in the SARIF; without the flaws it passes; an expired waiver fails it again.

Runs semgrep with finpilot's own rule pack (``finpilot/deliver/_rules/semgrep``, from the rules
branch): finpilot.secrets.*, finpilot.sqli.*, finpilot.money.*, finpilot.logging.* and
finpilot.tls.*. The five flaws share one module so that the pack runs twice, not ten times.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

from finpilot.deliver import GateConfig, load_waivers, run_gate, to_sarif

PAYMENTS = Path(__file__).resolve().parents[3] / "examples" / "payments"

FLAWS = '''"""Refunds (deliberately flawed for the gate's acceptance test)."""

import logging
import sqlite3

import httpx
from pydantic import BaseModel

log = logging.getLogger(__name__)

ACQUIRER_API_KEY = "sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"


class RefundIn(BaseModel):
    amount: float
    currency: str


def refund(conn: sqlite3.Connection, payment_id: str, pan: str) -> None:
    conn.execute("SELECT * FROM payments WHERE id = '" + payment_id + "'")
    log.info("refunding card %s", pan)
    httpx.post("https://acquirer.example/refunds", verify=False, headers={"X-Key": ACQUIRER_API_KEY})
'''

# CWE -> the line of FLAWS that must fail with it.
EXPECTED = {"CWE-798": 11, "CWE-1339": 15, "CWE-89": 20, "CWE-532": 21, "CWE-295": 22}
FLAW_FILE = "finpilot_payments/_refunds.py"


@pytest.mark.slow  # the full rule pack over the payments example, twice (about 10 s each)
def test_each_flaw_fails_the_gate_removing_them_passes_and_an_expired_waiver_fails(tmp_path: Path) -> None:
    tree = tmp_path / "payments"
    shutil.copytree(PAYMENTS, tree, ignore=shutil.ignore_patterns("__pycache__", ".finpilot"))
    config = GateConfig(scanners=["semgrep"], cache_dir=tmp_path / "cache")
    today = dt.date(2026, 12, 7)

    (tree / FLAW_FILE).write_text(FLAWS)
    flawed = run_gate(tree, config, today=today)
    assert flawed.verdict == "fail"
    sarif = to_sarif(flawed, baseline_used=False)
    failing = {
        (
            r["properties"]["cwe"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in json.loads(json.dumps(sarif))["runs"][0]["results"]
        if r["properties"]["action"] == "fail"
    }
    for cwe, line in EXPECTED.items():
        assert (cwe, FLAW_FILE, line) in failing, f"{cwe} at line {line} not failing: {sorted(failing)}"

    (tree / FLAW_FILE).unlink()
    clean = run_gate(tree, config, today=today)
    assert clean.verdict == "pass", clean.reasons

    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        yaml.safe_dump(
            {
                "waivers": [
                    {"id": "W-9", "rule": "finpilot.sqli.tainted-sql", "path": "finpilot_payments/*.py",
                     "owner": "payments-team", "justification": "legacy report query", "expires": "2026-11-30"}
                ]
            }
        )
    )  # fmt: skip
    again = run_gate(tree, config, waivers=load_waivers(waivers), today=today)
    assert again.verdict == "fail"
    assert "waiver W-9 expired on 2026-11-30" in again.reasons
