# expect: CWE-90 safe
import ldap
from ldap.filter import escape_filter_chars
from flask import Flask, request

app = Flask(__name__)


@app.route("/staff")
def staff():
    uid = escape_filter_chars(request.args.get("uid", ""))
    conn = ldap.initialize("ldap://directory.internal")
    res = conn.search_s("ou=people,dc=bank,dc=example", ldap.SCOPE_SUBTREE, "(uid=" + uid + ")")
    return str(res)
