# expect: CWE-1339 vulnerable
import csv


def total(path: str) -> float:
    with open(path) as fh:
        return sum(float(row["amount"]) for row in csv.DictReader(fh))
