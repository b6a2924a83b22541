"""A bounded schemathesis run over the payments service: no 5xx, and every answer as documented."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finpilot_payments import AllowAllDecider, Database, PaymentsSettings, create_app, open_database
from fuzz_helpers import fuzz_app
from payments_helpers import ADMIN_TOKEN, bearer


@pytest.fixture
def sqlite_database(sqlite_settings: PaymentsSettings) -> Iterator[Database]:
    """The SQLite database the fuzzed app writes to, closed afterwards."""
    db = open_database(sqlite_settings)
    yield db
    db.close()


@pytest.fixture(params=["admin", "no-token"])
def auth_headers(request: pytest.FixtureRequest) -> dict[str, str]:
    """Headers every fuzzed call carries: the admin token (every operation runs), or none (every one refuses)."""
    return bearer(ADMIN_TOKEN) if request.param == "admin" else {}


def test_every_operation_answers_as_documented(
    sqlite_settings: PaymentsSettings, sqlite_database: Database, auth_headers: dict[str, str]
) -> None:
    app = create_app(sqlite_settings, database=sqlite_database, decider=AllowAllDecider())
    failures = fuzz_app(app, auth_headers)
    assert not failures, "\n\n".join(failures)
