# expect: CWE-78 vulnerable
import subprocess
from flask import Flask, request

app = Flask(__name__)


@app.route("/run")
def run():
    arg = request.cookies.get("arg", "")
    parts = ["echo", arg]
    cmd = " ".join(parts)
    return subprocess.check_output(cmd, shell=True).decode()
