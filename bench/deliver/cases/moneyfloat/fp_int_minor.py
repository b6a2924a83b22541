# expect: CWE-1339 safe
from pydantic import BaseModel, StrictInt


class Charge(BaseModel):
    amount: StrictInt
    currency: str
