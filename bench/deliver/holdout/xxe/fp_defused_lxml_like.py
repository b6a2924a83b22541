# expect: CWE-611 safe
from flask import Flask, request
from defusedxml.ElementTree import parse

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    tree = parse(request.files["statement"])
    return tree.getroot().tag
