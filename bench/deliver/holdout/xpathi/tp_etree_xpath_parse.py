# expect: CWE-643 vulnerable
import flask
from lxml import etree

app = flask.Flask(__name__)


@app.route("/emp")
def emp():
    eid = flask.request.cookies.get("emp", "1")
    root = etree.parse("employees.xml").getroot()
    query = "/Employees/Employee[@emplid='" + eid + "']"
    return str([e.text for e in root.xpath(query)])
