# expect: CWE-611 safe
from flask import Flask, request
from defusedxml import ElementTree

app = Flask(__name__)


@app.route("/camt", methods=["POST"])
def camt():
    doc = ElementTree.fromstring(request.get_data())
    return str(len(doc))
