# expect: CWE-501 safe
import re
from flask import Flask, request, session, abort

app = Flask(__name__)
ACCOUNT = re.compile(r"[A-Z]{2}[0-9]{10}")


@app.route("/t", methods=["POST"])
def t():
    account = request.form["account"]
    if ACCOUNT.fullmatch(account):
        session["account"] = account
        return "ok"
    abort(400)
