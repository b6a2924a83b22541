"""Request bodies. Amounts are strict integers in minor units: floats, strings and booleans get a 422."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from finpilot_payments._currency import CURRENCY_FIX, EXPONENTS
from finpilot_payments._ledger import MAX_AMOUNT


def _iso4217(code: str) -> str:
    if code not in EXPONENTS:
        # ``fix`` travels in the error's context to the one HTTP error body (_errors_http).
        raise PydanticCustomError(
            "currency", "must be an ISO 4217 currency code with a minor unit", {"fix": CURRENCY_FIX}
        )
    return code


Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Minor units (cents), 1 to 10^12 - 1.")]
Currency = Annotated[
    StrictStr,
    Field(min_length=3, max_length=3, description="ISO 4217 code with a minor unit, e.g. EUR, USD, JPY."),
    AfterValidator(_iso4217),
]
Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class ErrorOut(BaseModel):
    """Every error answer: what failed, which field, and what to do (never what the client sent)."""

    error: str
    message: str
    field: str | None
    fix: str | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountIn(_Body):
    """Open an account."""

    kind: Literal["customer", "merchant", "settlement"]
    currency: Currency
    overdraft_limit: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)] = 0


class CardIn(_Body):
    """Tokenise a card for a customer account. The PAN is checked and dropped; never stored."""

    account_id: Id
    pan: Annotated[StrictStr, Field(max_length=64)]


class AuthorizeIn(_Body):
    """Authorize a card payment to a merchant."""

    card_token: Id
    merchant_id: Id
    amount: Amount
    currency: Currency


class AmountIn(_Body):
    """Capture or refund: an amount, or the whole remainder when left out."""

    amount: Amount | None = None


class TransferIn(_Body):
    """Move money between two accounts of the same currency."""

    from_account: Id
    to_account: Id
    amount: Amount
    currency: Currency
