# expect: CWE-643 vulnerable
import xml.etree.ElementTree as ET
import flask

app = flask.Flask(__name__)


@app.route("/search", methods=["POST"])
def search():
    tag = flask.request.form["tag"]
    root = ET.parse("catalogue.xml").getroot()
    return str(sum(1 for _ in root.iterfind(".//" + tag)))
