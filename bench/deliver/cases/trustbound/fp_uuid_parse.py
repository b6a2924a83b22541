# expect: CWE-501 safe
import uuid
from flask import Flask, request, session

app = Flask(__name__)


@app.route("/basket")
def basket():
    session["basket"] = str(uuid.UUID(request.args["basket"]))
    return "ok"
