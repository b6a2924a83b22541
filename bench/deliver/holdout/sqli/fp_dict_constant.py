# expect: CWE-89 safe
import sqlite3
from flask import Flask, request

app = Flask(__name__)


@app.route("/stats")
def stats():
    user = request.args.get("user", "")
    queries = {"count": "SELECT count(*) FROM payments WHERE user = ?"}
    return str(sqlite3.connect("x.db").execute(queries["count"], (user,)).fetchone())
