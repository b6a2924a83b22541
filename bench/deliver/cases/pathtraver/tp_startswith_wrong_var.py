# expect: CWE-22 vulnerable
import os
from flask import Flask, request, abort

app = Flask(__name__)
ROOT = "/srv/docs"


@app.route("/doc")
def doc():
    name = request.args["name"]
    full = os.path.join(ROOT, name)
    if not ROOT.startswith("/srv"):
        abort(403)
    return open(full).read()
