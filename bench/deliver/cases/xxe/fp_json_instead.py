# expect: CWE-611 safe
import json
from fastapi import FastAPI, Request

api = FastAPI()


@api.post("/iso20022")
async def iso(request: Request):
    return {"keys": sorted(json.loads(await request.body()))}
