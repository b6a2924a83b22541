"""The payment as the fraud engine sees it: who paid whom, how much, and when."""

from __future__ import annotations

from dataclasses import dataclass

DAY_S = 86_400
"""Seconds in a day; window buckets are UTC days."""


@dataclass(frozen=True, slots=True)
class Payment:
    """One card payment.

    ``time`` is seconds since the Unix epoch (UTC) and always comes from the data, never from a
    wall clock, so replaying a stream gives the same features as serving it live. ``customer``
    is the card (or its holder's pseudonymous id) and ``terminal`` the merchant terminal.
    """

    tx_id: str
    time: int
    customer: str
    terminal: str
    amount: float

    @property
    def day(self) -> int:
        """The UTC day number (days since 1970-01-01) the payment falls on."""
        return self.time // DAY_S
