"""A bounded schemathesis run over the console: no 5xx, and every answer as its OpenAPI document says.

Twice: with an admin token (every route does its work) and with none (every route refuses).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import MakeToken, bearer
from fastapi import FastAPI
from fuzz_helpers import fuzz_app

from finpilot.audit import Ledger
from finpilot.console import TokenStore, create_app
from finpilot.core import AuthFailureSettings, FraudSettings, Settings
from finpilot.watch import AlertManager, EmbeddedQuery, MetricsStore


@pytest.fixture
def full_app(settings: Settings, tiny_fraud_model: Path, ledger: Ledger, tokens: TokenStore) -> Iterator[FastAPI]:
    """A console with a fraud model, a metrics store and an alert manager, so that their routes answer 2xx too.

    Its failed-authentication budget is wide: the negative cases mangle the token on purpose,
    and a console that answered 429 to everything after 20 of them would hide the routes.
    """
    console = settings.console.model_copy(update={"auth_failures": AuthFailureSettings(burst=10_000, rate_per_s=1000)})
    model_settings = settings.model_copy(
        update={"fraud": FraudSettings(model_dir=tiny_fraud_model), "console": console}
    )
    store = MetricsStore(settings.data_dir / "metrics.db")
    store.write([("up", (("job", "a"),), 1.0, None)])
    alerts = AlertManager.from_settings(model_settings, record=ledger.append, with_sinks=False)
    yield create_app(model_settings, ledger, tokens, metrics_query=EmbeddedQuery(store), alerts=alerts)
    alerts.close()
    store.close()


def test_every_operation_answers_as_documented_for_an_admin(full_app: FastAPI, make_token: MakeToken) -> None:
    failures = fuzz_app(full_app, bearer(make_token("admin")))
    assert not failures, "\n\n".join(failures)


def test_every_operation_answers_as_documented_without_a_token(full_app: FastAPI) -> None:
    failures = fuzz_app(full_app)
    assert not failures, "\n\n".join(failures)
