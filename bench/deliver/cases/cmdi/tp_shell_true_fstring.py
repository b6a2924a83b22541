# expect: CWE-78 vulnerable
import subprocess
from fastapi import FastAPI

api = FastAPI()


@api.post("/reports/{name}")
def build_report(name: str):
    out = subprocess.run(f"make-report --name {name}", shell=True, capture_output=True, check=False)
    return {"rc": out.returncode}
