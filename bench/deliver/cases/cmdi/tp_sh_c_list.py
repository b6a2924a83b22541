# expect: CWE-78 vulnerable
import subprocess
from flask import Flask, request

app = Flask(__name__)


@app.route("/convert", methods=["POST"])
def convert():
    fmt = request.form["format"]
    subprocess.run(["sh", "-c", "convert statement.pdf statement." + fmt], check=True)
    return "ok"
