# expect: CWE-89 vulnerable
import sqlite3
from flask import Flask, request

app = Flask(__name__)


def build(where: str) -> str:
    return "SELECT * FROM cards WHERE holder = '" + where + "'"


@app.route("/cards")
def cards():
    conn = sqlite3.connect("x.db")
    return str(conn.execute(build(request.headers.get("X-Holder", ""))).fetchall())
