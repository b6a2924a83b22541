# expect: CWE-1339 vulnerable
from pydantic import BaseModel


class Charge(BaseModel):
    amount: float
    currency: str
