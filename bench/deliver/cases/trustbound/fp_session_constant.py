# expect: CWE-501 safe
from flask import Flask, session

app = Flask(__name__)


@app.route("/logout")
def logout():
    session["role"] = "anonymous"
    return "bye"
