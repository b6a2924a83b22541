# expect: CWE-22 vulnerable
import os
from flask import Flask, request

app = Flask(__name__)
STATEMENTS = "/srv/statements"


@app.route("/statement")
def statement():
    name = request.args.get("file", "")
    with open(os.path.join(STATEMENTS, name), "rb") as fh:
        return fh.read()
