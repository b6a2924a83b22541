# expect: CWE-89 safe
import sqlite3

TABLE = "payments"
COLUMNS = ", ".join(["id", "amount", "currency"])


def all_payments(conn: sqlite3.Connection) -> list:
    return conn.execute("SELECT " + COLUMNS + " FROM " + TABLE).fetchall()
