# expect: CWE-1339 safe
from dataclasses import dataclass
from decimal import Decimal


@dataclass
class Account:
    id: str
    balance: Decimal = Decimal("0.00")
