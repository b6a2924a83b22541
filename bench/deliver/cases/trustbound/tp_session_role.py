# expect: CWE-501 vulnerable
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = b"from-env-in-real-life"


@app.route("/login", methods=["POST"])
def login():
    session["role"] = request.form.get("role", "viewer")
    return "ok"
