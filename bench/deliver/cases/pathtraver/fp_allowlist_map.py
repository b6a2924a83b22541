# expect: CWE-22 safe
import flask

app = flask.Flask(__name__)
FILES = {"terms": "/srv/static/terms.html", "privacy": "/srv/static/privacy.html"}


@app.route("/legal")
def legal():
    page = flask.request.args.get("page", "terms")
    if page not in FILES:
        flask.abort(404)
    return open(FILES[page]).read()
