# expect: CWE-90 safe
import ldap
from flask import Flask, request, abort

app = Flask(__name__)
DEPTS = {"ops": "(department=ops)", "risk": "(department=risk)"}


@app.route("/team")
def team():
    flt = DEPTS.get(request.cookies.get("dept", "ops"))
    if flt is None:
        abort(400)
    conn = ldap.initialize("ldap://directory.internal")
    return str(
        conn.search_s(
            "dc=bank,dc=example", ldap.SCOPE_SUBTREE, "(department=ops)" if flt == DEPTS["ops"] else "(department=risk)"
        )
    )
