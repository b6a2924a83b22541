# expect: CWE-22 safe
import flask

app = flask.Flask(__name__)


@app.route("/receipts/<path:name>")
def receipt(name):
    return flask.send_from_directory("/srv/receipts", name)
