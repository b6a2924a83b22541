# expect: CWE-501 vulnerable
from flask import Flask, request, session

app = Flask(__name__)


def clean(v: str) -> str:
    return v.strip()


@app.route("/t", methods=["POST"])
def t():
    session["account"] = clean(request.form["account"])
    return "ok"
