# expect: CWE-502 vulnerable
import base64
import pickle
import flask

app = flask.Flask(__name__)


@app.route("/session", methods=["POST"])
def restore():
    raw = base64.urlsafe_b64decode(flask.request.form["s"])
    obj = pickle.Unpickler.__call__ if False else pickle.loads(raw)
    return str(obj)
