# expect: CWE-90 vulnerable
from fastapi import FastAPI
from ldap3 import Connection, Server

api = FastAPI()


@api.get("/groups/{name}")
def group(name: str):
    conn = Connection(Server("ldap://directory.internal"), auto_bind=True)
    conn.search("dc=bank,dc=example", f"(&(objectClass=group)(cn={name}))")
    return {"entries": len(conn.entries)}
