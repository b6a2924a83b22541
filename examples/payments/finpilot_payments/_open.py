"""Opening the configured database and decider."""

from __future__ import annotations

from finpilot_payments._db import Database
from finpilot_payments._decision import AllowAllDecider, DecisionClient
from finpilot_payments._http_decider import HttpDecider
from finpilot_payments._settings import PaymentsSettings


def open_database(settings: PaymentsSettings) -> Database:
    """PostgreSQL when ``settings.dsn`` is set, else SQLite at ``data_dir/payments.db``."""
    if settings.dsn:
        from finpilot_payments._postgres import PostgresDatabase

        return PostgresDatabase(settings.dsn, settings.schema_name)
    from finpilot_payments._sqlite import SqliteDatabase

    return SqliteDatabase(settings.data_dir / "payments.db")


def make_decider(settings: PaymentsSettings) -> DecisionClient:
    """The HTTP decider when ``decider_url`` is set, else the in-process allow-all stub."""
    if settings.decider_url:
        return HttpDecider(
            settings.decider_url,
            timeout_s=settings.decider_timeout_s,
            fail_open=settings.decider_fail_open,
            token=settings.decider_token,
        )
    return AllowAllDecider()
