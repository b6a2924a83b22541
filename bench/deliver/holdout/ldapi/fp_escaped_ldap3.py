# expect: CWE-90 safe
from flask import Flask, request
from ldap3 import Connection
from ldap3.utils.conv import escape_filter_chars

app = Flask(__name__)


@app.route("/who")
def who():
    conn = Connection("ldap://dir", auto_bind=True)
    user = escape_filter_chars(request.headers.get("X-User", ""))
    conn.search("dc=example,dc=com", "(&(objectClass=person)(uid=" + user + "))")
    return str(conn.entries)
