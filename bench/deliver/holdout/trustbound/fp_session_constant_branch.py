# expect: CWE-501 safe
import flask

app = flask.Flask(__name__)


@app.route("/t")
def t():
    param = flask.request.args.get("v", "")
    bar = "fixed" if 1 + 1 == 2 else param
    flask.session["userid"] = "fixed"
    return bar
