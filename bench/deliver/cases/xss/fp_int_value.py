# expect: CWE-79 safe
from flask import Flask, request

app = Flask(__name__)


@app.route("/page")
def page():
    n = int(request.args.get("n", "1"))
    return "<p>Page %d</p>" % n
