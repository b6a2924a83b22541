"""A small, seeded generator of handbook-like payments, for tests and demos.

It follows the handbook simulator's shape: customers with their own mean amount and daily rate,
terminals near them, and the three fraud scenarios: (1) any amount above 220, (2) two
terminals compromised a day, all their payments fraud for 28 days, (3) three customers
compromised a day, a third of their payments for 14 days fraud with the amount times five.
Scales are parameters, so a test can make a month in milliseconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HEADER = (
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_TIME_SECONDS",
    "TX_TIME_DAYS",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
)
"""The handbook's columns, in its order."""


def generate_payments(
    path: Path,
    *,
    customers: int = 200,
    terminals: int = 400,
    days: int = 60,
    start: str = "2018-04-01",
    compromised_terminals_per_day: float = 0.2,
    compromised_customers_per_day: float = 0.5,
    seed: int = 0,
) -> int:
    """Write a handbook-schema CSV to ``path``; returns the number of payments.

    The ``compromised_*_per_day`` arguments are Poisson means of new compromises per day
    (the handbook used 2 terminals of 10,000 and 3 customers of 5,000).
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not cryptography
    origin = dt.datetime.fromisoformat(start)
    profiles = [
        (rng.uniform(5, 100), rng.uniform(0, 4), rng.sample(range(terminals), k=min(terminals, 20)))
        for _ in range(customers)
    ]
    bad_terminals: dict[int, int] = {}  # terminal -> last compromised day
    bad_customers: dict[int, int] = {}
    rows: list[tuple[int, int, int, float, int]] = []  # (seconds, customer, terminal, amount, scenario)
    for day in range(days):
        for _ in range(_poisson(rng, compromised_terminals_per_day)):
            bad_terminals[rng.randrange(terminals)] = day + 28
        for _ in range(_poisson(rng, compromised_customers_per_day)):
            bad_customers[rng.randrange(customers)] = day + 14
        for cid, (mean, rate, near) in enumerate(profiles):
            for _ in range(_poisson(rng, rate)):
                seconds = int(rng.gauss(43_200, 20_000))
                if not 0 <= seconds < 86_400:
                    continue
                amount = round(max(0.01, rng.gauss(mean, mean / 2)), 2)
                terminal = rng.choice(near)
                scenario = 0
                if amount > 220:
                    scenario = 1
                elif bad_terminals.get(terminal, -1) >= day:
                    scenario = 2
                elif bad_customers.get(cid, -1) >= day and rng.random() < 1 / 3:
                    amount, scenario = round(amount * 5, 2), 3
                rows.append((day * 86_400 + seconds, cid, terminal, amount, scenario))
    rows.sort()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i, (seconds, cid, terminal, amount, scenario) in enumerate(rows):
            when = (origin + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow(
                (i, when, cid, terminal, f"{amount:.2f}", seconds, seconds // 86_400, int(scenario > 0), scenario)
            )
    return len(rows)


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw by counting exponential gaps (lam is small here)."""
    count, total = 0, rng.expovariate(1.0) if lam > 0 else 1.0
    while lam > 0 and total < lam:
        count += 1
        total += rng.expovariate(1.0)
    return count
