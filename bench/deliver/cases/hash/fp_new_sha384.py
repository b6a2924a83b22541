# expect: CWE-328 safe
import hashlib
from flask import Flask, request

app = Flask(__name__)


@app.route("/sign", methods=["POST"])
def sign():
    h = hashlib.new("sha384")
    h.update(request.get_data())
    return h.hexdigest()
