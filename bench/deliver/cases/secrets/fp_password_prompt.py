# expect: CWE-798 safe
import getpass

import psycopg


def connect() -> psycopg.Connection:
    password = getpass.getpass("ledger password: ")
    return psycopg.connect(host="db.internal", user="ledger", password=password)
