# expect: CWE-89 safe
import sqlite3
import flask

app = flask.Flask(__name__)


@app.route("/q")
def q():
    param = flask.request.args.get("v", "")
    num = 106
    bar = "This_should_always_happen" if (7 * 18) + num > 200 else param
    sql = "SELECT * FROM users WHERE name = ?"
    return str(sqlite3.connect("x.db").execute(sql, (bar,)).fetchall())
