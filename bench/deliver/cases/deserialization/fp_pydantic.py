# expect: CWE-502 safe
from fastapi import FastAPI, Request
from pydantic import BaseModel

api = FastAPI()


class Job(BaseModel):
    name: str
    retries: int = 0


@api.post("/jobs")
async def jobs(request: Request):
    job = Job.model_validate_json(await request.body())
    return {"name": job.name}
