# expect: CWE-330 vulnerable
import random
import flask

app = flask.Flask(__name__)


@app.route("/rm")
def rm():
    value = random.random()
    resp = flask.make_response("ok")
    resp.set_cookie("rememberMe", str(value).replace("0.", ""))
    return resp
