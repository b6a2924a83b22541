# expect: CWE-79 safe
import json
from flask import Flask, Response, request

app = Flask(__name__)


@app.route("/err")
def err():
    msg = request.args.get("msg", "")
    return Response(json.dumps({"error": msg}), mimetype="application/json")
