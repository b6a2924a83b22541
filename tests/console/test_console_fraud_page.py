"""The Fraud page and its API: what each role sees and may do, live numbers after scoring, audit of every change."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from console_helpers import MakeToken, TestClient, bearer, console_entries, refusals
from drift_helpers import drifted_monitor

from finpilot.audit import Ledger, contains_pan
from finpilot.console import TokenStore, create_app
from finpilot.core import FraudSettings, Settings
from finpilot.fraud import generate_payments, holdout_reference, read_payments, train_artifact

T0 = 1_600_000_000
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def fraud_client(
    settings: Settings, ledger: Ledger, tokens: TokenStore, tiny_fraud_model: Path
) -> Iterator[TestClient]:
    """A console whose policy declines every payment (decline threshold 0), so alerts and rates show."""
    fraud = FraudSettings(model_dir=tiny_fraud_model, review_threshold=0, decline_threshold=0, freeze_threshold=1)
    app = create_app(settings.model_copy(update={"fraud": fraud}), ledger, tokens)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def score(client: TestClient, token: str, n: int, customer: str = "cust-1") -> dict[str, Any]:
    body = {"transaction_id": f"tx{n}", "time": T0 + n, "customer_id": customer, "terminal_id": "t1", "amount": 20.0}
    response = client.post("/api/v1/fraud/scores", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def login(client: TestClient, token: str) -> None:
    response = client.post("/login", data={"token": token, "next": "/fraud"}, headers=ORIGIN)
    assert response.status_code == 200, response.text


def test_scoring_shows_up_on_the_page_and_in_the_summary(fraud_client: TestClient, make_token: MakeToken) -> None:
    operator = make_token("operator")
    for n in range(3):
        assert score(fraud_client, operator, n)["decision"] == "decline"
    score(fraud_client, operator, 3, customer="cust-2")

    summary = fraud_client.get("/api/v1/fraud/summary", headers=bearer(make_token("viewer"))).json()
    stats = summary["stats"]
    assert summary["model_loaded"] is True
    assert summary["model_version"]
    assert (stats["decisions"], stats["by_action"]["decline"], stats["decline_rate"]) == (4, 4, 1.0)
    assert stats["per_minute"][-1]["decline"] == 4
    assert stats["top_reasons"][0] == {"reason": "score … >= decline threshold 0", "count": 4}
    assert [m["version"] for m in stats["model_versions"]] == [summary["model_version"]]
    assert summary["drift"] is None
    # One alert per account; the two repeats for cust-1 are counted on its alert.
    alerts = {row["account"]: row for row in summary["alerts"]["recent"]}
    assert set(alerts) == {"cust-1", "cust-2"}
    assert (alerts["cust-1"]["repeats"], alerts["cust-2"]["repeats"]) == (2, 0)
    assert (summary["alerts"]["raised"], summary["alerts"]["suppressed"]) == (2, 2)

    login(fraud_client, make_token("viewer", "page-viewer"))
    page = fraud_client.get("/fraud")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/fraud" aria-current="page">Fraud</a>' in html
    assert re.search(r'id="decisions-total">4<', html)
    assert "100.00 %" in html
    assert html.count('<rect class="bar-decline"') == 1  # one minute, all declined
    assert "score … &gt;= decline threshold 0" in html
    assert 'id="drift-status">not monitored<' in html
    assert "cust-1" in html
    assert "cust-2" in html
    assert "freeze-form" not in html
    assert "unfreeze-button" not in html
    assert "<script>" not in html
    assert "style=" not in html
    assert "http://" not in html
    assert "https://" not in html


def test_operators_freeze_and_unfreeze_viewers_may_not_and_all_is_audited(
    fraud_client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    viewer, operator = make_token("viewer"), make_token("operator")
    refused = fraud_client.post("/api/v1/fraud/accounts/cust-7/freeze", json={}, headers=bearer(viewer))
    assert refused.status_code == 403
    assert refused.json()["error"] == "PermissionDeniedError"
    assert console_entries(ledger, "fraud.account") == []

    frozen = fraud_client.post(
        "/api/v1/fraud/accounts/cust-7/freeze", json={"reason": "analyst: card testing"}, headers=bearer(operator)
    )
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["frozen"] is True
    account = ledger.entry(frozen.json()["audit_index"]).fields
    assert (account["kind"], account["action"], account["actor"], account["subject"]) == (
        "fraud.account",
        "freeze",
        "token:operator-user",
        "account:cust-7",
    )
    assert account["evidence"]["reason"] == "analyst: card testing"
    # The frozen account's next payment is declined, and the page lists it with an Unfreeze button.
    assert score(fraud_client, operator, 1, customer="cust-7")["reasons"][0] == "account frozen"
    summary = fraud_client.get("/api/v1/fraud/summary", headers=bearer(viewer)).json()
    assert [r["customer_id"] for r in summary["stats"]["frozen_accounts"]] == ["cust-7"]
    assert summary["alerts"]["recent"][-1]["kind"] == "account_frozen"
    fraud_client.cookies.clear()
    login(fraud_client, operator)
    html = fraud_client.get("/fraud").text
    assert 'data-customer="cust-7"' in html
    assert 'id="freeze-form"' in html

    # A cookie-authenticated change needs the console's own Origin.
    cross_site = fraud_client.post(
        "/api/v1/fraud/accounts/cust-7/unfreeze", json={}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    unfrozen = fraud_client.post("/api/v1/fraud/accounts/cust-7/unfreeze", json={}, headers=ORIGIN)
    assert unfrozen.status_code == 200, unfrozen.text
    assert ledger.entry(unfrozen.json()["audit_index"]).fields["action"] == "unfreeze"
    again = fraud_client.post("/api/v1/fraud/accounts/cust-7/unfreeze", json={}, headers=bearer(operator))
    assert again.status_code == 404
    assert "cust-7" not in again.text  # nothing the client sent is echoed
    assert fraud_client.get("/api/v1/fraud/summary", headers=bearer(viewer)).json()["stats"]["frozen_accounts"] == []

    requests = [
        (r["action"], r["actor"], r["outcome"])
        for r in console_entries(ledger)
        if r["action"].startswith("POST /api/v1/fraud/accounts")
    ]
    assert requests == [
        ("POST /api/v1/fraud/accounts/{customer_id}/freeze", "token:operator-user", "200"),
        ("POST /api/v1/fraud/accounts/{customer_id}/unfreeze", "token:operator-user", "200"),
    ]
    [summary] = refusals(fraud_client.app, ledger)
    assert summary["evidence"]["routes"] == {
        "POST /api/v1/fraud/accounts/{customer_id}/freeze": 1,
        "POST /api/v1/fraud/accounts/{customer_id}/unfreeze": 1,
    }
    assert summary["evidence"]["actors"] == ["token:operator-user", "token:viewer-user"]
    assert [e["action"] for e in console_entries(ledger, "fraud.account")] == ["freeze", "unfreeze"]


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": "x" * 201}, {"other": "y"}, [1]])
def test_a_bad_body_is_refused_and_changes_nothing(
    body: Any, fraud_client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    response = fraud_client.post("/api/v1/fraud/accounts/cust-1/freeze", json=body, headers=bearer(make_token("admin")))
    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    assert console_entries(ledger, "fraud.account") == []


def test_a_form_post_is_refused(fraud_client: TestClient, make_token: MakeToken, ledger: Ledger) -> None:
    # JSON only: a cross-site HTML form cannot produce it.
    response = fraud_client.post(
        "/api/v1/fraud/accounts/cust-1/freeze", data={"reason": "x"}, headers=bearer(make_token("admin"))
    )
    assert response.status_code == 400
    assert console_entries(ledger, "fraud.account") == []


def test_a_card_number_as_account_is_refused_without_echo(fraud_client: TestClient, make_token: MakeToken) -> None:
    pan = "4111111111111111"
    response = fraud_client.post(f"/api/v1/fraud/accounts/{pan}/freeze", json={}, headers=bearer(make_token("admin")))
    assert response.status_code == 422
    assert pan not in response.text


def test_without_a_model_the_page_says_so(client: TestClient, make_token: MakeToken) -> None:
    summary = client.get("/api/v1/fraud/summary", headers=bearer(make_token("viewer"))).json()
    assert (summary["model_loaded"], summary["stats"], summary["alerts"]) == (False, None, None)
    assert "fraud train" in summary["problem"]
    response = client.post("/api/v1/fraud/accounts/c1/freeze", json={}, headers=bearer(make_token("admin")))
    assert response.status_code == 503
    login(client, make_token("admin", "boss"))
    html = client.get("/fraud").text
    assert 'id="fraud-problem"' in html
    assert "freeze-form" not in html


def test_strangers_go_to_login(client: TestClient) -> None:
    assert client.get("/fraud", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/fraud/summary").status_code == 401


def test_an_attached_drift_monitor_is_shown(fraud_client: TestClient, make_token: MakeToken) -> None:
    class Drift:
        def summary(self) -> dict[str, Any]:
            return {"score_psi": 0.31, "adwin": math.nan, "drifted": True, "signals": ("score",)}

    fraud_client.app.state.console.fraud_drift = Drift()  # type: ignore[attr-defined]
    summary = fraud_client.get("/api/v1/fraud/summary", headers=bearer(make_token("viewer"))).json()
    assert summary["drift"] == {"score_psi": 0.31, "adwin": None, "drifted": True, "signals": ["score"]}
    login(fraud_client, make_token("viewer", "drift-viewer"))
    html = fraud_client.get("/fraud").text
    # A shape the page does not know is listed field by field, not dropped.
    other = re.search(r'<dl id="drift-other">(.*?)</dl>', html, re.S)
    assert other is not None
    assert "<dt>score_psi</dt><dd><code>0.31</code></dd>" in other.group(1)
    assert "<dt>signals</dt><dd><code>[&#34;score&#34;]</code></dd>" in other.group(1)


def test_the_drift_card_shows_psi_bands_and_the_error_rate_monitor(
    fraud_client: TestClient, make_token: MakeToken, ledger: Ledger, tiny_fraud_model: Path
) -> None:
    monitor = drifted_monitor(ledger, tiny_fraud_model)
    drift_entry = next(i for i in range(ledger.size) if ledger.entry(i).fields["kind"] == "fraud.drift")
    fraud_client.app.state.console.fraud_drift = monitor  # type: ignore[attr-defined]
    login(fraud_client, make_token("viewer", "drift-viewer"))
    html = fraud_client.get("/fraud").text
    card = re.search(r'<section class="card" id="drift" data-refresh-ms="\d+">(.*?)</section>', html, re.S)
    assert card is not None
    drift = card.group(1)

    rows = re.findall(
        r'<tr class="psi-row" data-band="(\w+)">\s*<td>(?:<strong>|<code>)([^<]+)<.*?<td class="num">([^<]+)</td>',
        drift,
        re.S,
    )
    psi = monitor.summary()["psi"]
    expected = [("significant", "model score", f"{psi['score_psi']:.4f}")] + [
        ({"ok": "stable", "warn": "moderate", "drift": "significant"}[f["level"]], f["name"], f"{f['psi']:.4f}")
        for f in psi["features"]
    ]
    assert rows == expected
    bands = {name: band for band, name, _ in rows}
    assert (bands["amount"], bands["cust_nb_tx_1d"]) == ("significant", "moderate")
    assert "stable" in bands.values()
    # The chart: one bar per row in its band's colour, over the three shaded bands.
    assert len(re.findall(r'<rect class="psi-bar band-(\w+)"', drift)) == len(rows)
    assert re.findall(r'<rect class="area-(\w+)"', drift) == ["stable", "moderate", "significant"]
    assert "stable (&lt; 0.1)" in drift
    assert "significant (≥ 0.25)" in drift
    # ADWIN's state, and the drift entry the PSI check wrote.
    assert re.search(r'id="adwin-labels">120<', drift)
    assert re.search(r'id="adwin-width">120 labels<', drift)
    assert f'<a href="/api/v1/audit/entries/{drift_entry}">fraud.drift entry #{drift_entry}</a>' in drift
    assert 'id="retrain-wanted"' in drift
    # Not a JSON dump.
    assert "<pre" not in drift
    assert "score_psi" not in drift
    assert "adwin_width" not in drift


def test_the_drift_card_says_when_only_the_score_is_checked(
    fraud_client: TestClient, make_token: MakeToken, ledger: Ledger, tiny_fraud_model: Path
) -> None:
    # The decisions came from scorer processes, through the ledger: no feature vectors.
    fraud_client.app.state.console.fraud_drift = drifted_monitor(  # type: ignore[attr-defined]
        ledger, tiny_fraud_model, featureless=True
    )
    login(fraud_client, make_token("viewer", "drift-viewer"))
    html = fraud_client.get("/fraud").text
    rows = re.findall(r'<tr class="psi-row" data-band="(\w+)">\s*<td>(?:<strong>|<code>)([^<]+)<', html)
    assert rows == [("significant", "model score")]
    assert "Only the score is checked" in html
    assert "No feature in the significant band" not in html


def test_a_restarted_console_shows_the_last_hour_of_decisions_once(
    fraud_client: TestClient, make_token: MakeToken, settings: Settings, ledger: Ledger, tokens: TokenStore
) -> None:
    operator = make_token("operator")
    for n in range(3):
        score(fraud_client, operator, n)
    # A second console on the same ledger, as after a restart: the decisions are read back once.
    fraud = fraud_client.app.state.console.settings.fraud  # type: ignore[attr-defined]
    app = create_app(settings.model_copy(update={"fraud": fraud}), ledger, tokens)
    with TestClient(app, base_url="http://testserver") as restarted:
        score(restarted, operator, 3)
        stats = restarted.get("/api/v1/fraud/summary", headers=bearer(operator)).json()["stats"]
    assert (stats["decisions"], stats["by_action"]["decline"]) == (4, 4)
    assert stats["top_reasons"][0]["count"] == 4


def test_a_model_with_a_drift_reference_is_monitored_from_start_up(
    settings: Settings, ledger: Ledger, tokens: TokenStore, tmp_path: Path, make_token: MakeToken
) -> None:
    """`fraud train` saves the holdout as reference.json; the console then watches PSI without being told."""
    csv_path = tmp_path / "payments.csv"
    generate_payments(csv_path, customers=60, terminals=120, days=25, seed=4)
    payments = read_payments(csv_path)
    artifact = train_artifact(payments)
    model_dir = tmp_path / "model"
    artifact.save(model_dir)
    reference = holdout_reference(artifact, payments)
    assert reference is not None
    reference.save(model_dir)

    app = create_app(settings.model_copy(update={"fraud": FraudSettings(model_dir=model_dir)}), ledger, tokens)
    with TestClient(app, base_url="http://testserver") as client:
        drift = client.get("/api/v1/fraud/summary", headers=bearer(make_token("viewer"))).json()["drift"]
    assert drift is not None
    assert drift["model_version"] == artifact.version
    # Without the reference the page says the model is not monitored.
    (model_dir / "reference.json").unlink()
    plain = create_app(settings.model_copy(update={"fraud": FraudSettings(model_dir=model_dir)}), ledger, tokens)
    assert plain.state.console.fraud_drift is None


@pytest.mark.parametrize(
    "account", ["card.4111111111111111", "card_4111_1111_1111_1111", "\uff14" + "\uff11" * 15, "4111111111111111"]
)
def test_freeze_with_a_card_number_in_the_account_id_is_refused_before_anything_is_stored(
    account: str, fraud_client: TestClient, make_token: MakeToken, ledger: Ledger
) -> None:
    """Regression (issue 10, finding 6): POST .../accounts/card.4111111111111111/freeze answered 200 and
    stored the number in the entry's subject. It is refused with 422, naming the path parameter."""
    operator, viewer = make_token("operator"), make_token("viewer")
    refused = fraud_client.post(f"/api/v1/fraud/accounts/{quote(account)}/freeze", json={}, headers=bearer(operator))
    assert refused.status_code == 422, refused.text
    assert (refused.json()["error"], refused.json()["field"]) == ("SensitiveDataError", "customer_id")
    assert "1111" not in refused.text
    assert console_entries(ledger, "fraud.account") == []
    summary = fraud_client.get("/api/v1/fraud/summary", headers=bearer(viewer)).json()
    assert summary["stats"]["frozen_accounts"] == []
    assert not any(contains_pan(json.dumps(e)) for e in console_entries(ledger))
