# expect: CWE-22 vulnerable
from pathlib import Path
from fastapi import FastAPI

api = FastAPI()
BASE = Path("/srv/exports")


@api.get("/exports/{name}")
def export(name: str):
    return (BASE / name).read_text()
