# expect: CWE-90 vulnerable
import ldap
from flask import Flask, request

app = Flask(__name__)


@app.route("/login", methods=["POST"])
def login():
    user = request.form["user"]
    conn = ldap.initialize("ldap://directory.internal")
    conn.simple_bind_s("uid=" + user + ",ou=people,dc=bank,dc=example", request.form["password"])
    return "ok"
