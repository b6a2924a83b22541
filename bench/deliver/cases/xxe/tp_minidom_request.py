# expect: CWE-611 vulnerable
import xml.dom.minidom
import flask

app = flask.Flask(__name__)


@app.route("/pain", methods=["POST"])
def pain():
    dom = xml.dom.minidom.parseString(flask.request.data)
    return dom.documentElement.tagName
