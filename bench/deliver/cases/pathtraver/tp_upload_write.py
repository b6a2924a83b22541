# expect: CWE-22 vulnerable
from flask import Flask, request

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["doc"]
    target = "/srv/uploads/" + f.filename
    with open(target, "wb") as out:
        out.write(f.read())
    return "stored"
