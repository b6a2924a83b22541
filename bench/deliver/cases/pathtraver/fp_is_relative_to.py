# expect: CWE-22 safe
from pathlib import Path
from fastapi import FastAPI, HTTPException

api = FastAPI()
BASE = Path("/srv/exports").resolve()


@api.get("/exports/{name}")
def export(name: str):
    target = (BASE / name).resolve()
    if not target.is_relative_to(BASE):
        raise HTTPException(404)
    return target.read_text()
