# expect: CWE-89 safe
import sqlite3
from flask import Flask, request

app = Flask(__name__)


@app.route("/payments")
def payments():
    merchant = request.args.get("merchant", "")
    conn = sqlite3.connect("ledger.db")
    rows = conn.execute("SELECT id, amount FROM payments WHERE merchant = ?", (merchant,)).fetchall()
    return {"rows": rows}
