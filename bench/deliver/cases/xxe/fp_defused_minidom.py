# expect: CWE-611 safe
import flask
from defusedxml import minidom

app = flask.Flask(__name__)


@app.route("/pain", methods=["POST"])
def pain():
    dom = minidom.parseString(flask.request.data)
    return dom.documentElement.tagName
