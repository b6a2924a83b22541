"""More fraud patterns for the generator: card testing, account takeover, collusion rings, slow drip.

The handbook's three scenarios are all the built-in generator made; a model tuned on them alone can
learn the handbook's quirks (one amount threshold, terminals that turn wholly fraudulent). These
patterns add the fraudster's own payments on top of the genuine stream, each labelled fraud with
its scenario code:

* **card testing** (4): a stolen card makes 8 to 30 tiny payments (0.01 to 2.00) within an hour
  at one to three terminals, then one to three large ones;
* **account takeover** (5): for 2 to 6 days a card pays at terminals it never used, 1 to 4 times
  a day, at 2 to 6 times its usual amount;
* **collusion ring** (6): 3 to 8 cards and 2 to 4 terminals trade among themselves for 10 to 20
  days at ordinary amounts (1 to 2 times the card's mean);
* **slow drip** (7): for 21 to 42 days a card makes, on a quarter of the days, one small
  payment (a third to the whole of its mean) at a random terminal.

The patterns draw from their own random stream, so the genuine payments and the three handbook
scenarios are the same with or without them, and all rates at 0 (the default) add nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from finpilot.core import InputError

PATTERN_SCENARIOS: dict[int, str] = {
    4: "card_testing",
    5: "account_takeover",
    6: "collusion_ring",
    7: "slow_drip",
}
"""Scenario codes of the extra patterns (``TX_FRAUD_SCENARIO``), after the handbook's 0 to 3."""

Row = tuple[int, int, int, float, int]  # (seconds since the start, customer, terminal, amount, scenario)
Profile = tuple[float, float, list[int]]  # a customer's (mean amount, daily rate, nearby terminals)


@dataclass(frozen=True)
class Patterns:
    """Poisson means of new incidents per day for each extra pattern; all 0 (the default) adds none."""

    card_testing_per_day: float = 0.0
    takeover_per_day: float = 0.0
    rings_per_day: float = 0.0
    slow_drip_per_day: float = 0.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value >= 0:
                raise InputError(f"{name} must be a number >= 0", field=name, fix="e.g. 0.2")

    @property
    def active(self) -> bool:
        """Whether any pattern has a non-zero rate."""
        return any(vars(self).values())


@dataclass
class _Incident:
    kind: int
    until: int  # last active day
    cards: list[int]
    terminals: list[int] = field(default_factory=list)


class PatternSource:
    """The extra fraud rows of each day, for :func:`~finpilot.fraud.iter_payments`."""

    def __init__(self, patterns: Patterns, *, seed: int, customers: int, terminals: int) -> None:
        self._patterns = patterns
        self._rng = random.Random(seed * 7919 + 4)  # nosec B311  # noqa: S311 - a simulation
        self._customers = customers
        self._terminals = terminals
        self._open: list[_Incident] = []

    def day_rows(self, day: int, profiles: list[Profile]) -> list[Row]:
        """Start the day's new incidents and return every open incident's payments of ``day``."""
        p, rng = self._patterns, self._rng
        rows: list[Row] = []
        for _ in range(poisson(rng, p.card_testing_per_day)):
            rows.extend(self._card_test(day, rng.randrange(self._customers), profiles))
        for kind, rate, days in ((5, p.takeover_per_day, (2, 6)), (7, p.slow_drip_per_day, (21, 42))):
            for _ in range(poisson(rng, rate)):
                self._open.append(_Incident(kind, day + rng.randint(*days) - 1, [rng.randrange(self._customers)]))
        for _ in range(poisson(rng, p.rings_per_day)):
            cards = rng.sample(range(self._customers), k=min(self._customers, rng.randint(3, 8)))
            shops = rng.sample(range(self._terminals), k=min(self._terminals, rng.randint(2, 4)))
            self._open.append(_Incident(6, day + rng.randint(10, 20) - 1, cards, shops))
        for incident in self._open:
            rows.extend(self._incident_rows(day, incident, profiles))
        self._open = [i for i in self._open if i.until > day]
        return rows

    def _when(self, day: int) -> int:
        return day * 86_400 + self._rng.randrange(86_400)

    def _card_test(self, day: int, card: int, profiles: list[Profile]) -> list[Row]:
        rng = self._rng
        start = day * 86_400 + rng.randrange(86_400 - 7_200)
        shops = [rng.randrange(self._terminals) for _ in range(rng.randint(1, 3))]
        rows = [
            (start + rng.randrange(3_600), card, rng.choice(shops), round(rng.uniform(0.01, 2.0), 2), 4)
            for _ in range(rng.randint(8, 30))
        ]
        mean = profiles[card][0]
        for _ in range(rng.randint(1, 3)):
            amount = round(mean * rng.uniform(2, 5), 2)
            rows.append((start + 3_600 + rng.randrange(3_600), card, rng.choice(shops), amount, 4))
        return rows

    def _incident_rows(self, day: int, incident: _Incident, profiles: list[Profile]) -> list[Row]:
        rng = self._rng
        rows: list[Row] = []
        if incident.kind == 5:
            card = incident.cards[0]
            mean, _, near = profiles[card]
            for _ in range(rng.randint(1, 4)):
                shop = rng.randrange(self._terminals)
                while shop in near and len(near) < self._terminals:
                    shop = rng.randrange(self._terminals)
                rows.append((self._when(day), card, shop, round(mean * rng.uniform(2, 6), 2), 5))
        elif incident.kind == 6:
            for card in incident.cards:
                for _ in range(rng.randint(0, 2)):
                    amount = round(profiles[card][0] * rng.uniform(1, 2), 2)
                    rows.append((self._when(day), card, rng.choice(incident.terminals), amount, 6))
        elif rng.random() < 0.25:  # slow drip
            card = incident.cards[0]
            amount = round(max(0.01, profiles[card][0] * rng.uniform(1 / 3, 1)), 2)
            rows.append((self._when(day), card, rng.randrange(self._terminals), amount, 7))
        return rows


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw by counting exponential gaps (lam is small here)."""
    count, total = 0, rng.expovariate(1.0) if lam > 0 else 1.0
    while lam > 0 and total < lam:
        count += 1
        total += rng.expovariate(1.0)
    return count
