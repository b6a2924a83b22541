# expect: CWE-611 safe
from flask import Flask, request
from lxml import etree

app = Flask(__name__)
SAFE = etree.XMLParser(resolve_entities=False, no_network=True)


@app.route("/camt", methods=["POST"])
def camt():
    return etree.fromstring(request.get_data(), parser=SAFE).tag
