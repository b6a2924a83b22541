# expect: CWE-611 vulnerable
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


@app.route("/camt", methods=["POST"])
def camt():
    doc = etree.fromstring(request.get_data())
    return str(len(doc))
