# expect: CWE-22 vulnerable
from pathlib import Path
from flask import Flask, request

app = Flask(__name__)


@app.route("/logo")
def logo():
    name = request.headers.get("X-Logo", "default.png")
    with (Path("/srv/logos") / name).open("rb") as fh:
        return fh.read()
