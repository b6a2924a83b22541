# expect: CWE-22 vulnerable
import os
import flask

app = flask.Flask(__name__)


@app.route("/cache/clear")
def clear():
    key = flask.request.cookies.get("cache_key", "default")
    os.remove("/var/cache/app/%s.bin" % key)
    return "cleared"
