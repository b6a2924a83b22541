"""Fixtures for the fraud tests: small seeded handbook-like CSVs made by the package's generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from finpilot.fraud import generate_payments, read_payments
from finpilot.fraud._csv import PaymentTable


@pytest.fixture(scope="session")
def stream_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 days of payments from 2018-04-01 (enough for a 30-day warm-up and two retrainings)."""
    path = tmp_path_factory.mktemp("fraud") / "stream.csv"
    generate_payments(path, customers=80, terminals=160, days=45, seed=7, compromised_terminals_per_day=0.4)
    return path


@pytest.fixture(scope="session")
def stream_table(stream_csv: Path) -> PaymentTable:
    """The stream CSV, read."""
    return read_payments(stream_csv)


@pytest.fixture(scope="session")
def handbook_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Payments covering the handbook's 8 folds (2018-06-20 to 2018-09-04), on a small population."""
    path = tmp_path_factory.mktemp("fraud") / "handbook.csv"
    generate_payments(
        path, customers=50, terminals=100, days=90, start="2018-06-10", seed=3, compromised_terminals_per_day=0.3
    )
    return path
