# expect: CWE-1339 safe
from pydantic import BaseModel


class Decision(BaseModel):
    score: float
    threshold: float = 0.8
    amount_minor: int
