# expect: CWE-90 vulnerable
import flask
from ldap3 import Connection

app = flask.Flask(__name__)


@app.route("/mail")
def mail():
    addr = flask.request.form["mail"]
    conn = Connection("ldap://directory.internal", auto_bind=True)
    conn.search(search_base="dc=bank,dc=example", search_filter="(mail=%s)" % addr)
    return str(conn.entries)
