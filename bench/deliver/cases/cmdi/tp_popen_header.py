# expect: CWE-78 vulnerable
import os
import flask

app = flask.Flask(__name__)


@app.route("/lookup")
def lookup():
    agent = flask.request.headers.get("X-Tool", "whois")
    with os.popen("%s example.com" % agent) as p:
        return p.read()
