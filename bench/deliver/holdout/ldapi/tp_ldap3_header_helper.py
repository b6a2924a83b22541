# expect: CWE-90 vulnerable
from flask import Flask, request
from ldap3 import Connection


app = Flask(__name__)


def flt(user: str) -> str:
    return "(&(objectClass=person)(uid=" + user + "))"


@app.route("/who")
def who():
    conn = Connection("ldap://dir", auto_bind=True)
    conn.search("dc=example,dc=com", flt(request.headers.get("X-User", "")))
    return str(conn.entries)
