"""JSON bodies of the score and label calls, validated into typed values (InputError names the field)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

from iso4217 import Currency

from finpilot.core import InputError
from finpilot.fraud._payment import Payment

LabelSource = Literal["chargeback", "analyst"]
"""Where a late label came from."""

LABEL_SOURCES: tuple[LabelSource, ...] = get_args(LabelSource)

MAX_AMOUNT = 1e12
"""Amounts must be below this (major units): the one cap the score API, its schema and the service check.

At most 12 digits before the decimal point, so an amount in a ``fraud.decision``'s evidence can
never read as a card number (the ledger refuses 13 to 19 digits that pass the Luhn check).
The reference payments service's own cap (below 10^12 minor units) stays under it in every
currency; ``tests/fraud/test_http_decider_console.py`` holds the two together.
"""

MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {currency.code: currency.exponent for currency in Currency if currency.exponent is not None}
)
"""ISO 4217 codes with a minor unit and its exponent (``iso4217``'s table): EUR 2, JPY 0, BHD 3.

Codes whose minor unit is "N.A." (XAU and the other metals, XBA to XBD, XDR, XSU, XUA, XTS,
XXX) are not here: an amount in integer minor units means nothing for them.
"""

_MAX_ID = 128
_CONTROL = re.compile(r"[\x00-\x1f]")
_MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


def check_id(value: object, name: str) -> str:
    """A non-empty identifier of at most 128 characters, without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"'{name}' must be a non-empty string", field=name)
    if len(value) > _MAX_ID or _CONTROL.search(value):
        raise InputError(f"'{name}' must be at most {_MAX_ID} printable characters", field=name)
    return value


def check_amount(value: object, name: str = "amount") -> float:
    """A finite number above 0 and below :data:`MAX_AMOUNT`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"'{name}' must be a number", field=name)
    if not 0 < value < MAX_AMOUNT:
        raise InputError(f"'{name}' must be above 0 and below {MAX_AMOUNT:g}", field=name)
    return float(value)


def currency_exponent(value: object, name: str = "currency") -> int:
    """The minor-unit exponent of ISO 4217 code ``value``; :class:`InputError` for any other value."""
    if not isinstance(value, str) or value not in MINOR_UNITS:
        raise InputError(
            f"'{name}' must be an ISO 4217 currency code with a minor unit",
            field=name,
            fix="send a code in capitals such as EUR, USD or JPY",
        )
    return MINOR_UNITS[value]


def parse_time(value: object, name: str = "time") -> int:
    """Seconds since the epoch from an RFC 3339 string (with an offset) or a number of epoch seconds."""
    if isinstance(value, bool):
        raise InputError(f"'{name}' must be an RFC 3339 time or epoch seconds", field=name)
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value <= _MAX_TIME:
            raise InputError(f"'{name}' must be epoch seconds between 0 and year 9999", field=name)
        return int(value)
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and "T" in value.upper() and moment.tzinfo is not None:
            return int(moment.timestamp())
    raise InputError(
        f"'{name}' must be an RFC 3339 time with an offset or epoch seconds",
        field=name,
        fix="e.g. 2026-01-01T12:00:00Z or 1767268800",
    )


def _object(body: Any, allowed: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object", field="$")
    extra = sorted(set(body) - allowed)
    if extra:
        raise InputError(f"unknown field '{extra[0]}'", field=extra[0])
    for name in required:
        if name not in body:
            raise InputError(f"'{name}' is missing", field=name)
    return body


_SCORE_FIELDS = ("transaction_id", "time", "customer_id", "terminal_id", "amount")


def payment_from_json(body: Any) -> Payment:
    """A :class:`Payment` from ``{transaction_id, time, customer_id, terminal_id, amount}``."""
    obj = _object(body, set(_SCORE_FIELDS), _SCORE_FIELDS)
    return Payment(
        check_id(obj["transaction_id"], "transaction_id"),
        parse_time(obj["time"]),
        check_id(obj["customer_id"], "customer_id"),
        check_id(obj["terminal_id"], "terminal_id"),
        check_amount(obj["amount"]),
    )


@dataclass(frozen=True)
class Label:
    """A late label: was the payment fraud, who says so, and from when it is known."""

    tx_id: str
    fraud: bool
    source: LabelSource
    known_at: int | None = None


def check_source(value: object) -> LabelSource:
    """``chargeback`` or ``analyst``."""
    for source in LABEL_SOURCES:
        if value == source:
            return source
    raise InputError("'source' must be chargeback or analyst", field="source")


def label_from_json(body: Any) -> Label:
    """A :class:`Label` from ``{transaction_id, fraud, source, known_at?}``."""
    obj = _object(body, {"transaction_id", "fraud", "source", "known_at"}, ("transaction_id", "fraud", "source"))
    fraud = obj["fraud"]
    if not isinstance(fraud, bool):
        raise InputError("'fraud' must be true or false", field="fraud")
    known_at = obj.get("known_at")
    return Label(
        check_id(obj["transaction_id"], "transaction_id"),
        fraud,
        check_source(obj["source"]),
        None if known_at is None else parse_time(known_at, "known_at"),
    )
