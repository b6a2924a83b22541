# expect: CWE-90 vulnerable
import ldap
from flask import Flask, request

app = Flask(__name__)


@app.route("/team")
def team():
    dept = request.cookies.get("dept", "ops")
    conn = ldap.initialize("ldap://directory.internal")
    msgid = conn.search_ext_s("dc=bank,dc=example", ldap.SCOPE_SUBTREE, "(department=%s)" % dept)
    return str(msgid)
