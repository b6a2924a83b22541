# expect: CWE-79 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/search")
def search():
    q = flask.request.args.get("q", "")
    body = "<p>No results for " + q + "</p>"
    return flask.make_response(body, 200)
