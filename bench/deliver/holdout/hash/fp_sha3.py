# expect: CWE-328 safe
import hashlib
from flask import Flask, request

app = Flask(__name__)


@app.route("/h", methods=["POST"])
def h():
    md = hashlib.sha3_256()
    for chunk in request.stream:
        md.update(chunk)
    return md.hexdigest()
