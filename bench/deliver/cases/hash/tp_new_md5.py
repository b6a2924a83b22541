# expect: CWE-328 vulnerable
import hashlib
from flask import Flask, request

app = Flask(__name__)


@app.route("/sign", methods=["POST"])
def sign():
    h = hashlib.new("md5")
    h.update(request.get_data())
    return h.hexdigest()
