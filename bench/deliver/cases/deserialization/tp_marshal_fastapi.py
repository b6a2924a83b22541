# expect: CWE-502 vulnerable
import marshal
from fastapi import FastAPI, Request

api = FastAPI()


@api.post("/jobs")
async def jobs(request: Request):
    code = marshal.loads(await request.body())
    return {"ok": code is not None}
