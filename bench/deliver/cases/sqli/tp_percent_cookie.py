# expect: CWE-89 vulnerable
import sqlite3
import flask

app = flask.Flask(__name__)


@app.post("/search")
def search():
    term = flask.request.cookies.get("last_search")
    db = sqlite3.connect("shop.db")
    cur = db.cursor()
    cur.execute("SELECT name FROM products WHERE name LIKE '%%%s%%'" % term)
    return str(cur.fetchall())
