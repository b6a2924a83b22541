# expect: CWE-1339 safe
from decimal import Decimal

FEE_RATE = Decimal("0.029")


def fee(amount_minor: int) -> Decimal:
    return amount_minor * FEE_RATE
