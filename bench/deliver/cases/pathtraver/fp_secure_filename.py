# expect: CWE-22 safe
from flask import Flask, request
from werkzeug.utils import secure_filename

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["doc"]
    target = "/srv/uploads/" + secure_filename(f.filename)
    with open(target, "wb") as out:
        out.write(f.read())
    return "stored"
