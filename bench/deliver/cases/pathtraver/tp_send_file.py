# expect: CWE-22 vulnerable
import flask

app = flask.Flask(__name__)


@app.route("/receipts/<path:name>")
def receipt(name):
    return flask.send_file("/srv/receipts/" + name)
