"""The issue's acceptance on the payments example: five planted faults are ERROR findings, the clean code has none."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from rule_pack_helpers import run_semgrep

PAYMENTS = Path(__file__).resolve().parents[3] / "examples" / "payments" / "finpilot_payments"

# file -> (text to replace or None to append, the new text): one fault each, in the example's own style.
PLANTED: dict[str, tuple[str | None, str]] = {
    "_settings.py": (None, '\n\nWEBHOOK_SIGNING_KEY = "3f9c1a7e5b2d8c4f6a0e9b1d7c3f5a2e"\n'),
    "_sqlite.py": (
        None,
        "\n\ndef find_payment(conn: sqlite3.Connection, payment_id: str) -> list[Row]:\n"
        '    return conn.execute("SELECT * FROM payments WHERE id = \'" + payment_id + "\'").fetchall()\n',
    ),
    "_models.py": (None, '\n\nclass RefundIn(_Body):\n    """A refund."""\n\n    payment_id: Id\n    amount: float\n'),
    "_service.py": (None, '\n\ndef _audit_card(pan: str) -> None:\n    _log.info("tokenising card %s", pan)\n'),
    "_http_decider.py": ("verify=True,", "verify=False,"),
}
EXPECTED = {
    ("_settings.py", "finpilot.secrets.hardcoded-credential"),
    ("_sqlite.py", "finpilot.sqli.tainted-sql"),
    ("_models.py", "finpilot.money.float-field"),
    ("_service.py", "finpilot.logging.card-data-logged"),
    ("_http_decider.py", "finpilot.tls.verification-disabled"),
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """One semgrep run over the unmodified example and a copy with the five faults planted."""
    planted = tmp_path_factory.mktemp("planted") / "finpilot_payments"
    shutil.copytree(PAYMENTS, planted)
    for name, (old, new) in PLANTED.items():
        path = planted / name
        text = path.read_text(encoding="utf-8")
        if old is None:
            text += new
        else:
            assert old in text, f"{name} no longer holds {old!r}: update the planted fault"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    targets = sorted(PAYMENTS.glob("*.py")) + sorted(planted.glob("*.py"))
    out: dict[str, list[dict[str, Any]]] = {"clean": [], "planted": []}
    for result in run_semgrep(targets):
        out["planted" if Path(result["path"]).is_relative_to(planted) else "clean"].append(result)
    return out


@pytest.mark.slow
def test_unmodified_payments_example_has_no_error_finding(findings: dict[str, list[dict[str, Any]]]) -> None:
    """The gate runs on this repository: the example itself passes at ERROR level (and has no finding at all)."""
    assert [(r["path"], r["start"]["line"], r["check_id"]) for r in findings["clean"]] == []


@pytest.mark.slow
def test_each_planted_fault_is_an_error_finding(findings: dict[str, list[dict[str, Any]]]) -> None:
    """Hard-coded key, SQL concatenation, float money field, PAN logged, TLS verification off: each reported."""
    errors = {(Path(r["path"]).name, r["check_id"]) for r in findings["planted"] if r["extra"]["severity"] == "ERROR"}
    assert errors >= EXPECTED
    assert {name for name, _ in errors} == set(PLANTED)
