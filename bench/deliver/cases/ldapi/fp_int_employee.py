# expect: CWE-90 safe
import ldap
from flask import Flask, request

app = Flask(__name__)


@app.route("/employee")
def employee():
    number = int(request.args.get("n", "0"))
    conn = ldap.initialize("ldap://directory.internal")
    return str(conn.search_s("dc=bank,dc=example", ldap.SCOPE_SUBTREE, "(employeeNumber=%d)" % number))
