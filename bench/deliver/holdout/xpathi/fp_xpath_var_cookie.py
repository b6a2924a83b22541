# expect: CWE-643 safe
import flask
from lxml import etree

app = flask.Flask(__name__)


@app.route("/emp")
def emp():
    eid = flask.request.cookies.get("emp", "1")
    root = etree.parse("employees.xml").getroot()
    return str([e.text for e in root.xpath("/Employees/Employee[@emplid=$id]", id=eid)])
