# expect: CWE-798 vulnerable
import psycopg


def connect() -> psycopg.Connection:
    return psycopg.connect(host="db.internal", user="ledger", password="L3dger!Prod2024")
