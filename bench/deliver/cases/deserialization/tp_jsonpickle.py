# expect: CWE-502 vulnerable
import jsonpickle
from flask import Flask, request

app = Flask(__name__)


@app.route("/restore", methods=["POST"])
def restore():
    state = jsonpickle.decode(request.form["state"])
    return str(state)
