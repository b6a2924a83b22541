# expect: CWE-643 vulnerable
import xml.etree.ElementTree as ET
import flask

app = flask.Flask(__name__)
ROOT = ET.parse("merchants.xml").getroot()


@app.route("/merchant")
def merchant():
    mcc = flask.request.args["mcc"]
    return str([m.get("name") for m in ROOT.findall(f".//merchant[@mcc='{mcc}']")])
