# expect: CWE-502 safe
import json
from flask import Flask, request

app = Flask(__name__)


@app.route("/restore", methods=["POST"])
def restore():
    state = json.loads(request.form["state"])
    if not isinstance(state, dict):
        return "bad", 400
    return str(sorted(state))
