# expect: CWE-89 vulnerable
import sqlite3
import flask

app = flask.Flask(__name__)


@app.route("/q")
def q():
    values = ["safe", flask.request.args.get("v", ""), "other"]
    values.pop(0)
    bar = values[0]
    sql = "SELECT * FROM users WHERE name = '%s'" % bar
    return str(sqlite3.connect("x.db").cursor().execute(sql).fetchall())
