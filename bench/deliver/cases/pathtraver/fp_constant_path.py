# expect: CWE-22 safe
import os

REPORT_DIR = "/srv/reports"


def latest_report() -> bytes:
    with open(os.path.join(REPORT_DIR, "latest.csv"), "rb") as fh:
        return fh.read()
