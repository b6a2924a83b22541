# expect: CWE-502 vulnerable
import yaml
from flask import Flask, request

app = Flask(__name__)


@app.route("/prefs")
def prefs():
    return str(yaml.unsafe_load(request.headers.get("X-Prefs", "{}")))
