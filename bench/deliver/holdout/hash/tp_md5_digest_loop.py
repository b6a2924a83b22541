# expect: CWE-328 vulnerable
import hashlib
from flask import Flask, request

app = Flask(__name__)


@app.route("/h", methods=["POST"])
def h():
    md = hashlib.md5()
    for chunk in request.stream:
        md.update(chunk)
    return md.hexdigest()
