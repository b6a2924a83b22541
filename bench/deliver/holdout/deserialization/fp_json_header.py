# expect: CWE-502 safe
import json
from flask import Flask, request

app = Flask(__name__)


@app.route("/prefs")
def prefs():
    return str(json.loads(request.headers.get("X-Prefs", "{}")))
