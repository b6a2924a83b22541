# expect: CWE-78 safe
import os
from flask import Flask, request

app = Flask(__name__)


@app.route("/probe")
def probe():
    port = int(request.args.get("port", "443"))
    os.system("nc -z localhost %d" % port)
    return "done"
