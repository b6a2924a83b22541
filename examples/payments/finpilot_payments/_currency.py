"""ISO 4217 currencies: the codes this service takes and each one's minor-unit exponent, from one table.

The table is the ``iso4217`` package's copy of the ISO 4217 list (offline, versioned with the
package). A code is accepted only when the list gives it a minor unit: an amount here is an
integer of minor units, which has no meaning for the codes whose minor unit is "N.A." (gold,
silver, palladium and platinum XAU XAG XPD XPT, the bond-market units XBA to XBD, the SDR XDR,
XSU, XUA, the testing code XTS and "no currency" XXX). Fund codes that do have a minor unit
(BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are real ISO 4217 codes and are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from iso4217 import Currency

EXPONENTS: Mapping[str, int] = MappingProxyType(
    {currency.code: currency.exponent for currency in Currency if currency.exponent is not None}
)
"""Every accepted ISO 4217 code and its minor-unit exponent (digits after the decimal point)."""

CURRENCY_FIX = "send an ISO 4217 currency code in capitals that has a minor unit, e.g. EUR, USD or JPY"
"""What to do about a refused currency code (the error never repeats the code sent)."""


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``: 2 for EUR, 0 for JPY, 3 for BHD.

    Raises ``KeyError`` for a code not in :data:`EXPONENTS`; the request models refuse those first.
    """
    return EXPONENTS[currency]
