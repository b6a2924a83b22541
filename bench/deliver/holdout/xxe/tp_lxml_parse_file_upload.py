# expect: CWE-611 vulnerable
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    tree = etree.parse(request.files["statement"])
    return tree.getroot().tag
