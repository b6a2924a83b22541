# expect: CWE-798 vulnerable
CONFIG = {
    "db_host": "db.internal",
    "db_password": "Sup3rS3cretLedgerPw",
}
