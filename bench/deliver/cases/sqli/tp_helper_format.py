# expect: CWE-89 vulnerable
import psycopg


def refunds_for(cur: psycopg.Cursor, customer: str) -> list:
    query = "SELECT id FROM refunds WHERE customer = '{}'".format(customer)
    cur.execute(query)
    return cur.fetchall()
