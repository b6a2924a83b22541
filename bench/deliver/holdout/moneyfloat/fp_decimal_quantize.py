# expect: CWE-1339 safe
from decimal import ROUND_HALF_EVEN, Decimal


def parse_price(text: str) -> Decimal:
    price = Decimal(text.replace(",", ""))
    return price.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
