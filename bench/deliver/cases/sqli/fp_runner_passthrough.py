# expect: CWE-89 safe
import sqlite3
from collections.abc import Sequence


class Store:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path)

    def query(self, sql: str, params: Sequence[object] = ()) -> list:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def by_id(self, payment_id: str) -> list:
        return self.query("SELECT * FROM payments WHERE id = ?", (payment_id,))
