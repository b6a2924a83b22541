# expect: CWE-501 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/cart/add")
def add():
    flask.session.setdefault("merchant", flask.request.args.get("merchant"))
    return "added"
