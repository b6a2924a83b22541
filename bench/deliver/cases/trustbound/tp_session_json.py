# expect: CWE-501 vulnerable
from flask import Flask, request, session

app = Flask(__name__)


@app.route("/limits", methods=["POST"])
def limits():
    body = request.get_json()
    session["daily_limit"] = body["limit"]
    return "ok"
