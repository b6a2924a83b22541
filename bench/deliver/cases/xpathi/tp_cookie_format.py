# expect: CWE-643 vulnerable
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


@app.route("/prefs")
def prefs():
    user = request.cookies.get("user", "")
    doc = etree.parse("prefs.xml")
    return str(doc.xpath("/prefs/user[name='{}']/theme".format(user)))
