# expect: CWE-1339 vulnerable
from dataclasses import dataclass


@dataclass
class Account:
    id: str
    balance: float = 0.0
