# expect: CWE-90 vulnerable
import ldap
import flask

app = flask.Flask(__name__)


@app.route("/whoami")
def whoami():
    cn = flask.request.headers.get("X-Remote-User", "")
    conn = ldap.initialize("ldap://directory.internal")
    query = "(cn={})".format(cn)
    return str(conn.search_s("dc=bank,dc=example", ldap.SCOPE_SUBTREE, query))
