# expect: CWE-90 vulnerable
import ldap
import flask

app = flask.Flask(__name__)


@app.route("/find")
def find():
    mail = flask.request.args["mail"]
    conn = ldap.initialize("ldap://dir")
    return str(conn.search_st("dc=example,dc=com", ldap.SCOPE_SUBTREE, f"(mail={mail})", timeout=5))
