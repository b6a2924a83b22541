# expect: CWE-643 vulnerable
import xml.etree.ElementTree as ET
from flask import Flask, request

app = Flask(__name__)


@app.route("/rate")
def rate():
    ccy = request.headers.get("X-Currency", "EUR")
    root = ET.parse("rates.xml").getroot()
    return root.findtext("./rate[@ccy='" + ccy + "']") or ""
