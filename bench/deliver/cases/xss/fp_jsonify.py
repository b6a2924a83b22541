# expect: CWE-79 safe
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/echo")
def echo():
    return jsonify({"echo": request.args.get("msg", "")})
