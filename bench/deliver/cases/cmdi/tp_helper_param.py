# expect: CWE-78 vulnerable
import subprocess


def archive(directory: str) -> int:
    command = "tar czf /backups/ledger.tgz " + directory
    return subprocess.call(command, shell=True)
