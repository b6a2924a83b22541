# expect: CWE-798 safe
import os

CONFIG = {
    "db_host": "db.internal",
    "db_password": os.environ.get("DB_PASSWORD", ""),
}
