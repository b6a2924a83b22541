# expect: CWE-89 safe
from flask import Flask, request
import psycopg
from psycopg import sql

app = Flask(__name__)


@app.route("/export")
def export():
    schema = request.args["schema"]
    with psycopg.connect("dbname=ledger") as conn:
        q = sql.SQL("SELECT * FROM {}.entries WHERE amount > %s").format(sql.Identifier(schema))
        return str(conn.execute(q, (0,)).fetchall())
