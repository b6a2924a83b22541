# expect: CWE-643 safe
from flask import Flask, request

app = Flask(__name__)


@app.route("/contains")
def contains():
    needle = request.args.get("q", "")
    return str("merchant-statement".find(needle))
