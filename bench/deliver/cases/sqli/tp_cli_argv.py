# expect: CWE-89 vulnerable
import sqlite3
import sys


def main() -> None:
    table_filter = sys.argv[1]
    conn = sqlite3.connect("ledger.db")
    parts = ["DELETE FROM holds WHERE", table_filter]
    conn.executescript(" ".join(parts))
    conn.commit()


if __name__ == "__main__":
    main()
