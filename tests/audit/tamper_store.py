"""Raw access to a ledger's tables, for tests that tamper with the store behind the ledger's back.

Both backends keep the same five tables (``log_state``, ``entries``, ``tiles``, ``checkpoints``,
``personal``); :class:`RawStore` reads all of them into a :class:`Snapshot` and writes a
snapshot back in one transaction, so a test can build a log once, then for each example
write back "base snapshot + one tamper", reopen the ledger and verify. Nothing here goes
through finpilot's own store classes: the point is to change what they would never write.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from finpilot.core import Settings

HEIGHT = 8  # C2SP tiles: 2^8 hashes per tile
WIDTH = 1 << HEIGHT
HASH = 32

Checkpoint = tuple[int, int, bytes, str, str]  # seq, size, root, note, created_at
Personal = tuple[int, str, bytes, bytes]  # idx, data_subject, salt, payload


@dataclass(frozen=True)
class Snapshot:
    """Every row of a ledger's store; entries and checkpoints in key order."""

    size: int
    entries: list[tuple[int, bytes]]
    tiles: dict[tuple[int, int], bytes]
    checkpoints: list[Checkpoint]
    personal: list[Personal] = field(default_factory=list)

    def copy(self, **changes: Any) -> Snapshot:
        """A copy whose lists and dicts may be mutated without touching this one."""
        base = replace(
            self,
            entries=list(self.entries),
            tiles=dict(self.tiles),
            checkpoints=list(self.checkpoints),
            personal=list(self.personal),
        )
        return replace(base, **changes) if changes else base

    @property
    def data(self) -> list[bytes]:
        """Entry data in index order."""
        return [d for _, d in self.entries]


class RawStore:
    """Direct SQL access to the store that ``settings`` names (SQLite file or PostgreSQL schema)."""

    def __init__(self, settings: Settings) -> None:
        self._dsn = settings.storage.dsn
        self._schema = settings.storage.schema_name
        self._path = settings.data_dir / "finpilot.db"

    @property
    def postgres(self) -> bool:
        """True for the PostgreSQL backend."""
        return self._dsn is not None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor-like connection inside one committed transaction (rolled back on error)."""
        if self._dsn is not None:
            with psycopg.connect(self._dsn, options=f"-c search_path={self._schema}") as conn:
                # psycopg's context manager commits on success and rolls back on an exception.
                yield _PgAdapter(conn)
            return
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteAdapter(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def read(self) -> Snapshot:
        """Every row of every table."""
        with self.transaction() as db:
            return db.read()

    def write(self, snap: Snapshot) -> None:
        """Replace every table's rows with the snapshot's, atomically."""
        with self.transaction() as db:
            db.write(snap)


class _Adapter:
    mark = "?"

    def q(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def many(self, query: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def read(self) -> Snapshot:
        size = int(self.q("SELECT size FROM log_state WHERE id = 1")[0][0])
        entries = [(int(i), bytes(d)) for i, d in self.q("SELECT idx, data FROM entries ORDER BY idx")]
        tiles = {(int(lv), int(ix)): bytes(h) for lv, ix, h in self.q("SELECT level, idx, hashes FROM tiles")}
        cps = [
            (int(s), int(n), bytes(r), str(t), str(c))
            for s, n, r, t, c in self.q("SELECT seq, size, root, note, created_at FROM checkpoints ORDER BY seq")
        ]
        personal = [
            (int(i), str(s), bytes(a), bytes(p))
            for i, s, a, p in self.q("SELECT idx, data_subject, salt, payload FROM personal ORDER BY idx")
        ]
        return Snapshot(size, entries, tiles, cps, personal)

    def write(self, snap: Snapshot) -> None:
        m = self.mark
        for table in ("entries", "tiles", "checkpoints", "personal"):
            self.q(f"DELETE FROM {table}")
        self.q(f"UPDATE log_state SET size = {m} WHERE id = 1", (snap.size,))
        self.many(f"INSERT INTO entries (idx, data) VALUES ({m}, {m})", list(snap.entries))
        self.many(
            f"INSERT INTO tiles (level, idx, hashes) VALUES ({m}, {m}, {m})",
            [(lv, ix, h) for (lv, ix), h in snap.tiles.items()],
        )
        self.many(
            f"INSERT INTO checkpoints (seq, size, root, note, created_at) VALUES ({m}, {m}, {m}, {m}, {m})",
            list(snap.checkpoints),
        )
        self.many(
            f"INSERT INTO personal (idx, data_subject, salt, payload) VALUES ({m}, {m}, {m}, {m})",
            list(snap.personal),
        )


class _SqliteAdapter(_Adapter):
    mark = "?"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def q(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(query, params).fetchall()

    def many(self, query: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.conn.executemany(query, rows)


class _PgAdapter(_Adapter):
    mark = "%s"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def q(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(query, params)
        return cur.fetchall() if cur.description is not None else []

    def many(self, query: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(query, rows)


def truncated_tiles(tiles: dict[tuple[int, int], bytes], size: int) -> dict[tuple[int, int], bytes]:
    """The tiles a log of ``size`` entries stores, cut from those of a longer log.

    A level-L tile holds node hashes of tree level 8L, and node hashes of complete subtrees
    never change as the log grows, so the shorter log's tiles are prefixes of the longer's.
    """
    out: dict[tuple[int, int], bytes] = {}
    for (level, index), blob in tiles.items():
        count = size >> (HEIGHT * level)  # nodes of this tile level in a tree of `size`
        keep = min(WIDTH, count - index * WIDTH)
        if keep > 0:
            out[(level, index)] = blob[: keep * HASH]
    return out


def tile_positions(tiles: dict[tuple[int, int], bytes]) -> list[tuple[int, int, int]]:
    """Every stored hash as ``(level, tile index, position)``."""
    return [(lv, ix, p) for (lv, ix), blob in sorted(tiles.items()) for p in range(len(blob) // HASH)]


def first_index_of_hash(level: int, index: int, pos: int) -> int:
    """The first leaf index a stored hash covers."""
    return (index * WIDTH + pos) << (HEIGHT * level)


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _perfect_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 hash of a perfect subtree (a power-of-two count of equal-level hashes)."""
    while len(hashes) > 1:
        hashes = [_sha(b"\x01" + hashes[i] + hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def tiles_for(data: list[bytes]) -> dict[tuple[int, int], bytes]:
    """The tiles an honest log of these entries stores, computed from scratch (RFC 9162 hashing,
    C2SP tiles: level L holds the tree level 8L node hashes of complete subtrees)."""
    out: dict[tuple[int, int], bytes] = {}
    level, nodes = 0, [_sha(b"\x00" + d) for d in data]
    while nodes:
        for t in range(0, len(nodes), WIDTH):
            out[(level, t // WIDTH)] = b"".join(nodes[t : t + WIDTH])
        full = len(nodes) // WIDTH
        nodes = [_perfect_root(nodes[t * WIDTH : (t + 1) * WIDTH]) for t in range(full)]
        level += 1
    return out
