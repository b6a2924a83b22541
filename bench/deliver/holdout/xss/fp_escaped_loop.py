# expect: CWE-79 safe
import html as htmllib
import flask

app = flask.Flask(__name__)


@app.route("/list")
def listing():
    out = "<ul>"
    for item in flask.request.args.getlist("item"):
        out += "<li>" + htmllib.escape(item) + "</li>"
    out += "</ul>"
    return out
