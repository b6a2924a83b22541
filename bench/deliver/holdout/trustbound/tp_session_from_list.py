# expect: CWE-501 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/t")
def t():
    values = [flask.request.args.get("v", ""), "x"]
    flask.session["userid"] = values[0]
    return "ok"
