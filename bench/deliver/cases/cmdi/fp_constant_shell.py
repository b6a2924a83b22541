# expect: CWE-78 safe
import os
import subprocess

BACKUP = "pg_dump ledger | gzip > /backups/ledger.sql.gz"


def nightly() -> None:
    subprocess.run(BACKUP, shell=True, check=True)
    os.system("sync")
