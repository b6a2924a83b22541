# expect: CWE-501 vulnerable
from flask import Flask, request, session

app = Flask(__name__)


@app.route("/sso")
def sso():
    user = request.headers.get("X-Forwarded-User")
    session["user_id"] = user
    return "welcome"
