# expect: CWE-643 safe
import xml.etree.ElementTree as ET
from flask import Flask, request, abort

app = Flask(__name__)
CCY = ("EUR", "USD", "GBP")


@app.route("/rate")
def rate():
    ccy = request.headers.get("X-Currency", "EUR")
    if ccy not in CCY:
        abort(400)
    root = ET.parse("rates.xml").getroot()
    return next((r.text for r in root.findall("./rate") if r.get("ccy") == ccy), "") or ""
