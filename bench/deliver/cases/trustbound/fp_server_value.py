# expect: CWE-501 safe
import secrets
import flask

app = flask.Flask(__name__)


@app.route("/csrf")
def csrf():
    flask.session["csrf"] = secrets.token_urlsafe(32)
    return "ok"
