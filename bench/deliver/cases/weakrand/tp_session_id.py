# expect: CWE-330 vulnerable
import random
import flask

app = flask.Flask(__name__)


@app.route("/start")
def start():
    flask.session["sid"] = "%016x" % random.getrandbits(64)
    return "started"
