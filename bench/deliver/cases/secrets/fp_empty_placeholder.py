# expect: CWE-798 safe
from dataclasses import dataclass


@dataclass
class DbSettings:
    host: str = "localhost"
    user: str = "ledger"
    password: str = ""
