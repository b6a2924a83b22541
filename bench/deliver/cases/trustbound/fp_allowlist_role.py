# expect: CWE-501 safe
from flask import Flask, request, session, abort

app = Flask(__name__)
ROLES = {"viewer", "operator"}


@app.route("/role", methods=["POST"])
def role():
    wanted = request.form.get("role", "viewer")
    if wanted in ROLES:
        session["role"] = wanted
        return "ok"
    abort(400)
