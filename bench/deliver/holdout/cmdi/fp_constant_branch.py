# expect: CWE-78 safe
import subprocess
from flask import Flask, request

app = Flask(__name__)


@app.route("/run")
def run():
    arg = request.cookies.get("arg", "")
    bar = "constant" if len("abc") == 3 else arg
    return subprocess.check_output(["echo", bar]).decode()
