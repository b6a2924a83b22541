# expect: CWE-90 safe
import ldap
import ldap.filter
import flask

app = flask.Flask(__name__)


@app.route("/mail")
def mail():
    q = ldap.filter.filter_format("(mail=%s)", [flask.request.form["mail"]])
    conn = ldap.initialize("ldap://directory.internal")
    return str(conn.search_s("dc=bank,dc=example", ldap.SCOPE_SUBTREE, q))
