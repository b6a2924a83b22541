# expect: CWE-501 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/pref")
def pref():
    name = flask.request.args.get("name", "theme")
    flask.session[name] = "dark"
    return "saved"
