# expect: CWE-78 safe
import shlex
import subprocess
from fastapi import FastAPI

api = FastAPI()


@api.post("/reports/{name}")
def build_report(name: str):
    out = subprocess.run("make-report --name " + shlex.quote(name), shell=True, check=False)
    return {"rc": out.returncode}
