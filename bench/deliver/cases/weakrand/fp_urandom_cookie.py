# expect: CWE-330 safe
import os
from flask import Flask, make_response

app = Flask(__name__)


@app.route("/remember")
def remember():
    resp = make_response("ok")
    resp.set_cookie("remember_me", os.urandom(16).hex(), secure=True, httponly=True)
    return resp
