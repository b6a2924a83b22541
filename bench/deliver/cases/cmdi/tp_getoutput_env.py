# expect: CWE-78 vulnerable
import os
import subprocess


def gpg_version() -> str:
    gpg = os.environ.get("GPG_BINARY", "gpg")
    return subprocess.getoutput(gpg + " --version")
