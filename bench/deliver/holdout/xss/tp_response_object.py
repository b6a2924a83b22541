# expect: CWE-79 vulnerable
from flask import Flask, Response, request

app = Flask(__name__)


@app.route("/err")
def err():
    msg = request.args.get("msg", "")
    return Response("<div class=error>" + msg + "</div>", mimetype="text/html")
