# expect: CWE-79 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/list")
def listing():
    html = "<ul>"
    for item in flask.request.args.getlist("item"):
        html += "<li>" + item + "</li>"
    html += "</ul>"
    return html
