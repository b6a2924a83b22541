# expect: CWE-501 safe
from flask import Flask, request, session

app = Flask(__name__)


@app.route("/whoami")
def whoami():
    asked = request.args.get("field", "user")
    return str(session.get("user")) if asked == "user" else "?"
