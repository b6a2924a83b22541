# expect: CWE-89 safe
import sqlite3
from fastapi import FastAPI, HTTPException

api = FastAPI()
DB = sqlite3.connect("ledger.db", check_same_thread=False)
ORDERS = {"ts": "ts", "amount": "amount"}


@api.get("/entries")
def entries(order: str = "ts"):
    column = ORDERS.get(order)
    if column is None:
        raise HTTPException(400, "order must be ts or amount")
    return (
        DB.execute("SELECT * FROM entries ORDER BY ts").fetchall()
        if column == "ts"
        else DB.execute("SELECT * FROM entries ORDER BY amount").fetchall()
    )
