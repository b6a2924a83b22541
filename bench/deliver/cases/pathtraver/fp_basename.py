# expect: CWE-22 safe
import os
from flask import Flask, request

app = Flask(__name__)
STATEMENTS = "/srv/statements"


@app.route("/statement")
def statement():
    name = os.path.basename(request.args.get("file", ""))
    with open(os.path.join(STATEMENTS, name), "rb") as fh:
        return fh.read()
