# expect: CWE-89 vulnerable
import sqlite3
from fastapi import FastAPI

api = FastAPI()
DB = sqlite3.connect("ledger.db", check_same_thread=False)


@api.get("/accounts/{account_id}/entries")
def entries(account_id: str, order: str = "ts"):
    sql = f"SELECT * FROM entries WHERE account = '{account_id}' ORDER BY {order}"
    return DB.execute(sql).fetchall()
