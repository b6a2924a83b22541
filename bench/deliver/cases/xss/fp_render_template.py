# expect: CWE-79 safe
import flask

app = flask.Flask(__name__)


@app.route("/search")
def search():
    q = flask.request.args.get("q", "")
    return flask.render_template("search.html", q=q)
