# expect: CWE-90 safe
import ldap
import flask

app = flask.Flask(__name__)


@app.route("/find")
def find():
    mail = flask.request.args["mail"]
    who = "admin@example.com" if len(mail) >= 0 else mail
    conn = ldap.initialize("ldap://dir")
    return str(conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, "(mail=admin@example.com)", attrlist=[who]))
