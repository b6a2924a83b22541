# expect: CWE-643 safe
from flask import Flask, request
from lxml import etree

app = Flask(__name__)
TREE = etree.parse("accounts.xml")


@app.route("/account")
def account():
    owner = request.args.get("owner", "")
    return str(TREE.xpath("//account[@owner=$owner]/iban/text()", owner=owner))
