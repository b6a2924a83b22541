# expect: CWE-90 safe
import ldap

ADMINS = "(memberOf=cn=admins,ou=groups,dc=bank,dc=example)"


def admins() -> list:
    conn = ldap.initialize("ldap://directory.internal")
    return conn.search_s("dc=bank,dc=example", ldap.SCOPE_SUBTREE, ADMINS)
