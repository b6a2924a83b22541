"""The PostgreSQL store's write transactions as data, so one lost with its connection can be settled.

A transaction records each write it made (:class:`Entries`, :class:`Checkpoint`,
:class:`Delete`). On a new connection, under the log's row lock again, :func:`landed` tells
whether those writes are already committed (a COMMIT whose answer was lost), and
:func:`check_resumable` whether the log is still exactly where the transaction found it, so
that replaying the writes with :func:`apply` extends the same tree: no gap, no second copy,
no fork.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from finpilot.audit._entry import PersonalRow
from finpilot.core import IntegrityError, StorageError

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Entries:
    """Entries ``start..new_size`` with their personal rows and the tiles they change."""

    start: int
    data: Sequence[bytes]
    personal: Sequence[tuple[int, PersonalRow]]
    tiles: dict[tuple[int, int], bytes]
    new_size: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed checkpoint."""

    seq: int
    size: int
    root: bytes
    note: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Delete:
    """Personal rows deleted by an erasure."""

    indices: tuple[int, ...]


Op = Entries | Checkpoint | Delete


@dataclass(slots=True)
class Tx:
    """The write transaction open on one thread: the size it locked, and what it wrote (to replay)."""

    size: int
    ops: list[Op] = field(default_factory=list)


def lock_size(conn: Conn) -> int:
    """BEGIN and lock the log's state row (one writer at a time, across processes); the committed size."""
    conn.execute("BEGIN")
    row = conn.execute("SELECT size FROM log_state WHERE id = 1 FOR UPDATE").fetchone()
    assert row is not None
    return int(row[0])


def apply(conn: Conn, op: Op) -> int:
    """Run one write; the number of rows it deleted (erasure), else 0."""
    if isinstance(op, Entries):
        with conn.cursor() as cur:
            with cur.copy("COPY entries (idx, data) FROM STDIN") as copy:
                for i, blob in enumerate(op.data, op.start):
                    copy.write_row((i, blob))
            if op.personal:
                cur.executemany(
                    "INSERT INTO personal (idx, data_subject, salt, payload) VALUES (%s, %s, %s, %s)",
                    [(i, p.data_subject, p.salt, p.payload) for i, p in op.personal],
                )
            cur.executemany(
                "INSERT INTO tiles (level, idx, hashes) VALUES (%s, %s, %s) "
                "ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes",
                [(lv, ix, blob) for (lv, ix), blob in op.tiles.items()],
            )
            cur.execute("UPDATE log_state SET size = %s WHERE id = 1", (op.new_size,))
        return 0
    if isinstance(op, Checkpoint):
        conn.execute(
            "INSERT INTO checkpoints (seq, size, root, note, created_at) VALUES (%s, %s, %s, %s, %s)",
            (op.seq, op.size, op.root, op.note, op.created_at),
        )
        return 0
    return conn.execute("DELETE FROM personal WHERE idx = ANY(%s)", (list(op.indices),)).rowcount


def landed(conn: Conn, op: Op, size: int) -> bool:
    """Whether ``op`` is in the committed log of ``size`` entries: the transaction that wrote it did commit."""
    if isinstance(op, Entries):
        if size < op.new_size:
            return False
        rows = conn.execute(
            "SELECT data FROM entries WHERE idx >= %s AND idx < %s ORDER BY idx", (op.start, op.new_size)
        ).fetchall()
        return [bytes(r[0]) for r in rows] == list(op.data)
    if isinstance(op, Checkpoint):
        row = conn.execute("SELECT root, note FROM checkpoints WHERE seq = %s", (op.seq,)).fetchone()
        return row is not None and bytes(row[0]) == op.root and row[1] == op.note
    left = conn.execute("SELECT count(*) FROM personal WHERE idx = ANY(%s)", (list(op.indices),)).fetchone()
    return left is not None and int(left[0]) == 0


def check_resumable(conn: Conn, tx: Tx, size: int, pending: Op | None = None) -> None:
    """Raise (after ROLLBACK) unless the log under the lock is the one ``tx`` (and ``pending``) extend.

    Same size, and every tile about to be rewritten extends the stored one: partial tiles only
    grow, and together they hold the tree's right edge, so equal prefixes mean the same head.
    """
    if size != tx.size:
        conn.execute("ROLLBACK")
        if size < tx.size:
            raise IntegrityError(
                f"after reconnecting, the log holds {size} entries; {tx.size} were committed before",
                fix="the server now writable lacks acknowledged entries: run `finpilot audit verify`",
            )
        raise StorageError(
            f"another writer appended while the connection was lost ({tx.size} -> {size} entries); "
            "nothing of this append was committed",
            fix="retry the append",
        )
    for op in [*tx.ops, pending]:
        if not isinstance(op, Entries) or not op.tiles:
            continue
        keys = list(op.tiles)
        rows = conn.execute(
            "SELECT level, idx, hashes FROM tiles "
            "WHERE (level, idx) IN (SELECT * FROM unnest(%s::int[], %s::bigint[]))",
            ([k[0] for k in keys], [k[1] for k in keys]),
        ).fetchall()
        if any(not op.tiles[(int(lv), int(ix))].startswith(bytes(blob)) for lv, ix, blob in rows):
            conn.execute("ROLLBACK")
            raise IntegrityError(
                f"after reconnecting, the tree of {size} entries has another head than the one this append "
                "extends; refusing to fork the log",
                fix="run `finpilot audit verify`",
            )
