# expect: CWE-89 safe
import sqlite3
import flask

app = flask.Flask(__name__)


@app.route("/page")
def page():
    limit = int(flask.request.args.get("limit", "20"))
    conn = sqlite3.connect("ledger.db")
    return str(conn.execute("SELECT id FROM payments LIMIT %d" % limit).fetchall())
