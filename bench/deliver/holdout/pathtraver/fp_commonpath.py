# expect: CWE-22 safe
import os
from flask import Flask, request, abort

app = Flask(__name__)
ROOT = "/srv/data"


@app.route("/read")
def read():
    path = os.path.realpath(os.path.join(ROOT, request.args.get("name", "")))
    if os.path.commonpath([ROOT, path]) != ROOT:
        abort(403)
    with open(path) as fh:
        return fh.read()
