# expect: CWE-90 safe
from fastapi import FastAPI
from ldap3 import Connection, Server
from ldap3.utils.conv import escape_filter_chars

api = FastAPI()


@api.get("/groups/{name}")
def group(name: str):
    conn = Connection(Server("ldap://directory.internal"), auto_bind=True)
    conn.search("dc=bank,dc=example", f"(&(objectClass=group)(cn={escape_filter_chars(name)}))")
    return {"entries": len(conn.entries)}
