"""A small, seeded generator of handbook-like payments, for tests, demos and live traffic.

It follows the handbook simulator's shape: customers with their own mean amount and daily rate,
terminals near them, and the three fraud scenarios: (1) any amount above 220, (2) two
terminals compromised a day, all their payments fraud for 28 days, (3) three customers
compromised a day, a third of their payments for 14 days fraud with the amount times five.
Scales are parameters, so a test can make a month in milliseconds.

There is one generator, :func:`iter_payments`, a stream in time order, day by day and without
end if asked. :func:`generate_payments` writes it as a CSV; ``finpilot traffic run`` sends it
to the payments service. A :class:`Shift` moves the distribution (for drift tests) and
leaves the stream unchanged when every scale is 1. :class:`Patterns`
(:mod:`finpilot.fraud._traffic._patterns`) adds card testing, account takeover, collusion rings
and slow-drip fraud on top, with scenario codes 4 to 7.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from finpilot.core import InputError
from finpilot.fraud._traffic._patterns import PATTERN_SCENARIOS, Patterns, PatternSource, poisson

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

SCENARIOS: dict[int, str] = {
    0: "genuine",
    1: "amount_over_220",
    2: "compromised_terminal",
    3: "compromised_customer",
}
"""``TX_FRAUD_SCENARIO`` values and the names reports use for them (the handbook's)."""
ALL_SCENARIOS: dict[int, str] = {**SCENARIOS, **PATTERN_SCENARIOS}
"""The handbook's scenarios and the extra patterns of :class:`Patterns`."""

TERMINAL_COMPROMISE_DAYS = 28
"""How long a compromised terminal's payments are all fraud (scenario 2)."""
CUSTOMER_COMPROMISE_DAYS = 14
"""How long a third of a compromised customer's payments are fraud (scenario 3)."""


@dataclass(frozen=True)
class Shift:
    """Scales that move the generated distribution; all 1.0 (the default) changes nothing.

    Parsed from ``amount_scale=2.0,rate_scale=1.5`` by :meth:`parse`.
    """

    amount_scale: float = 1.0
    """Multiplies every customer's mean amount (and so its spread)."""
    rate_scale: float = 1.0
    """Multiplies every customer's payments per day."""
    terminal_fraud_scale: float = 1.0
    """Multiplies the daily rate of new compromised terminals (scenario 2)."""
    customer_fraud_scale: float = 1.0
    """Multiplies the daily rate of new compromised customers (scenario 3)."""

    @classmethod
    def parse(cls, text: str, *, option: str = "--shift") -> Shift:
        """``name=value,...`` into a :class:`Shift`; an :class:`InputError` naming ``option`` if bad."""
        names = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise InputError(
                    f"{option}: {part!r} is not name=value with a known name",
                    field=option,
                    fix=f"use a comma-separated list of {', '.join(n + '=FLOAT' for n in names)}",
                )
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise InputError(
                    f"{option}: {name} must be a finite number >= 0", field=option, fix=f"e.g. {name}=2.0"
                ) from None
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class SyntheticPayment:
    """One generated payment. ``seconds`` count from the start date; ids are small integers."""

    tx_id: int
    seconds: int
    customer: int
    terminal: int
    amount: float
    scenario: int

    @property
    def fraud(self) -> bool:
        """True for the injected fraud scenarios (1 to 3, and 4 to 7 of :class:`Patterns`)."""
        return self.scenario > 0


def fraud_rates_for(share: float, *, customers: int, terminals: int) -> tuple[float, float]:
    """Daily compromise rates (terminals, customers) for a steady-state fraud ``share``.

    Half of ``share`` comes from compromised terminals (each carries about 1/``terminals`` of
    the traffic for 28 days), half from compromised customers (a third of their payments for
    14 days). Scenario 1 (amounts above 220) comes on top, from the amounts themselves.
    """
    if not 0 <= share <= 1:
        raise InputError("the fraud share must be between 0 and 1", field="fraud_rate", fix="e.g. 0.02")
    per_terminal = share / 2 * terminals / TERMINAL_COMPROMISE_DAYS
    per_customer = share / 2 * customers * 3 / CUSTOMER_COMPROMISE_DAYS
    return per_terminal, per_customer


def iter_payments(
    *,
    customers: int = 200,
    terminals: int = 400,
    days: int | None = 60,
    compromised_terminals_per_day: float = 0.2,
    compromised_customers_per_day: float = 0.5,
    seed: int = 0,
    shift: Shift = Shift(),
    patterns: Patterns | None = None,
) -> Iterator[SyntheticPayment]:
    """The payments of ``days`` simulated days (forever when ``None``), in time order.

    The ``compromised_*_per_day`` arguments are Poisson means of new compromises per day
    (the handbook used 2 terminals of 10,000 and 3 customers of 5,000). The same arguments
    give the same stream, and a shorter ``days`` gives a prefix of a longer one. ``patterns``
    adds other fraud on top; the rest of the stream stays the same.
    """
    if customers < 1 or terminals < 1:
        raise InputError("need at least one customer and one terminal", field="customers", fix="e.g. 200 and 400")
    rng = random.Random(seed)  # nosec B311  # noqa: S311 - a reproducible simulation, not cryptography
    profiles = [
        (rng.uniform(5, 100), rng.uniform(0, 4), rng.sample(range(terminals), k=min(terminals, 20)))
        for _ in range(customers)
    ]
    terminal_rate = compromised_terminals_per_day * shift.terminal_fraud_scale
    customer_rate = compromised_customers_per_day * shift.customer_fraud_scale
    bad_terminals: dict[int, int] = {}  # terminal -> last compromised day
    bad_customers: dict[int, int] = {}
    extra = None
    if patterns is not None and patterns.active:
        extra = PatternSource(patterns, seed=seed, customers=customers, terminals=terminals)
    tx_id = 0
    day = 0
    while days is None or day < days:
        for _ in range(poisson(rng, terminal_rate)):
            bad_terminals[rng.randrange(terminals)] = day + TERMINAL_COMPROMISE_DAYS
        for _ in range(poisson(rng, customer_rate)):
            bad_customers[rng.randrange(customers)] = day + CUSTOMER_COMPROMISE_DAYS
        rows: list[tuple[int, int, int, float, int]] = []  # (seconds, customer, terminal, amount, scenario)
        for cid, (mean, rate, near) in enumerate(profiles):
            for _ in range(poisson(rng, rate * shift.rate_scale)):
                seconds = int(rng.gauss(43_200, 20_000))
                if not 0 <= seconds < 86_400:
                    continue
                scaled = mean * shift.amount_scale
                amount = round(max(0.01, rng.gauss(scaled, scaled / 2)), 2)
                terminal = rng.choice(near)
                scenario = 0
                if amount > 220:
                    scenario = 1
                elif bad_terminals.get(terminal, -1) >= day:
                    scenario = 2
                elif bad_customers.get(cid, -1) >= day and rng.random() < 1 / 3:
                    amount, scenario = round(amount * 5, 2), 3
                rows.append((day * 86_400 + seconds, cid, terminal, amount, scenario))
        if extra is not None:
            rows.extend(extra.day_rows(day, profiles))
        rows.sort()  # days do not overlap, so sorting each day sorts the stream
        for seconds, cid, terminal, amount, scenario in rows:
            yield SyntheticPayment(tx_id, seconds, cid, terminal, amount, scenario)
            tx_id += 1
        day += 1


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
    shift: Shift = Shift(),
    patterns: Patterns | None = None,
) -> int:
    """Write a handbook-schema CSV of :func:`iter_payments` to ``path``; returns the number of payments."""
    try:
        origin = dt.datetime.fromisoformat(start)
    except ValueError:
        raise InputError(f"start date {start!r} is not YYYY-MM-DD", field="start", fix="e.g. 2018-04-01") from None
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for p in iter_payments(
            customers=customers,
            terminals=terminals,
            days=days,
            compromised_terminals_per_day=compromised_terminals_per_day,
            compromised_customers_per_day=compromised_customers_per_day,
            seed=seed,
            shift=shift,
            patterns=patterns,
        ):
            when = (origin + dt.timedelta(seconds=p.seconds)).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow(
                (
                    p.tx_id,
                    when,
                    p.customer,
                    p.terminal,
                    f"{p.amount:.2f}",
                    p.seconds,
                    p.seconds // 86_400,
                    int(p.fraud),
                    p.scenario,
                )
            )
            count += 1
    return count
