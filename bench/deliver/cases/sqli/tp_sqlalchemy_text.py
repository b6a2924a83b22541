# expect: CWE-89 vulnerable
from flask import Flask, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine("sqlite:///ledger.db")


@app.route("/balance")
def balance():
    acct = request.values["account"]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT balance FROM accounts WHERE id = " + acct)).first()
    return {"balance": row[0] if row else None}
