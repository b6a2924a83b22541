# expect: CWE-330 safe
import secrets
import string
import flask

app = flask.Flask(__name__)


@app.route("/rm")
def rm():
    value = "".join(secrets.choice(string.digits) for _ in range(20))
    resp = flask.make_response("ok")
    resp.set_cookie("rememberMe", value)
    return resp
