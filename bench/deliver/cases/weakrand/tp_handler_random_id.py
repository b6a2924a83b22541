# expect: CWE-330 vulnerable
import random
from fastapi import FastAPI

api = FastAPI()


@api.post("/transfers")
def create_transfer():
    reference = random.randint(0, 10**12)
    return {"reference": reference}
