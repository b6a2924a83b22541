# expect: CWE-611 vulnerable
from xml.dom import pulldom
from flask import Flask, request

app = Flask(__name__)


@app.route("/batch", methods=["POST"])
def batch():
    events = pulldom.parseString(request.form["xml"])
    return str(sum(1 for _ in events))
