"""SQLite storage: one file, ``payments.db``, in the data directory.

Durability by group fsync. With ``synchronous=FULL`` every commit fsynced the write-ahead log
while holding the one connection's lock, so every other transaction, reads included, queued
behind the disk. With other test suites on the machine an fsync took 2.5 ms at the median and
10 ms at p90, so at 200 authorizations/s the lock was busy most of the time and capped the
service below its CPU.
Now commits run with ``synchronous=NORMAL``, which writes the log without syncing it, and a
write returns only after an fsync of the log that began after its commit; one fsync covers every
commit made before it started, and it runs outside the lock. A caller therefore still never
hears of a write that a power cut could undo (what FULL gave), while the lock is held only for
the SQL itself. A crash of the process alone never loses a commit either way (the log is in the
OS's page cache), and a power cut rolls back only whole transactions that nobody was told of,
so the books balance after recovery whatever happens.

Checkpoints run on a thread of their own. SQLite's automatic checkpoint runs inside the commit
that crosses its threshold, under the lock, copying megabytes and syncing twice: a stall of
tens to hundreds of milliseconds for every request in flight. A passive checkpoint from a
second connection every :data:`CHECKPOINT_EVERY_S` copies the log into the database while
transactions go on; the automatic one stays, at a higher threshold, as a backstop.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from finpilot_payments._db import SCHEMA, Database, Row, Tx
from finpilot_payments._errors import StorageError

CHECKPOINT_EVERY_S = 1.0
"""How often the background checkpoint copies the write-ahead log into the database."""

_BACKSTOP_PAGES = 20_000
"""The automatic checkpoint's threshold (80 MB of log at 4 KiB pages): reached only if the background one stalls."""

_log = logging.getLogger("finpilot_payments")


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, tuple(params)).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, tuple(params))


def _make_private(path: Path) -> None:
    """The data directory 0700 and ``payments.db`` 0600 before SQLite opens it, checked at every start.

    SQLite gives ``-wal``, ``-shm`` and ``-journal`` the database file's mode, so creating the
    file 0600 first keeps them private under any umask. Anything found readable by others
    (the directory and the files directly in it, as releases before this one left them) is
    repaired with a warning rather than refused: the service made that state itself.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(FileExistsError):  # an existing database is never opened here (POSIX locks)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    loose = [p for p in (directory, *directory.iterdir()) if not p.is_symlink() and p.stat().st_mode & 0o077]
    for item in loose:
        item.chmod(stat.S_IMODE(item.stat().st_mode) & 0o700)
    if loose:
        _log.warning("removed group and other access from %s (was readable by other users)", ", ".join(map(str, loose)))


class SqliteDatabase(Database):
    """The ledger in a SQLite file; one connection, used by one thread at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._lock = threading.Lock()
        self._sync = threading.Condition(threading.Lock())
        self._committed = 0  # commits made so far (counted under _lock)
        self._synced = 0  # commits known to be on disk
        self._syncing = False
        try:
            _make_private(path)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # made durable by _durable (module docstring)
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
            with self.write() as tx:
                for statement in SCHEMA:
                    tx.run(statement)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the SQLite database {path}: {exc}", fix="check that the data directory is writable"
            ) from None
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoints, name="payments-sqlite-checkpoint", daemon=True)
        self._checkpointer.start()

    @property
    def description(self) -> str:
        """The database file."""
        return f"sqlite:{self._path}"

    @contextmanager
    def _transaction(self, begin: str, *, durable: bool) -> Iterator[_SqliteTx]:
        with self._lock:
            try:
                self._conn.execute(begin)
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite could not begin a transaction: {exc}") from None
            try:
                yield _SqliteTx(self._conn)
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StorageError(f"SQLite failed: {exc}") from None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StorageError(f"SQLite could not commit: {exc}") from None
            self._committed += 1
            mine = self._committed
        if durable:
            self._durable(mine)

    def _durable(self, commit: int) -> None:
        """Return once commit number ``commit`` is on disk: join an fsync that started after it, or run one."""
        with self._sync:
            while self._synced < commit:
                if self._syncing:
                    self._sync.wait()
                    continue
                self._syncing = True
                covered = self._committed  # every commit counted here has returned from COMMIT
                error: BaseException | None = None
                self._sync.release()
                try:
                    self._fsync()
                except BaseException as exc:  # every waiter must hear of it, then try again itself
                    error = exc
                finally:
                    self._sync.acquire()
                    self._syncing = False
                    if error is None:
                        self._synced = max(self._synced, covered)
                    self._sync.notify_all()
                if isinstance(error, OSError):
                    raise StorageError(f"SQLite's log could not be synced to disk: {error}") from None
                if error is not None:
                    raise error

    def _fsync(self) -> None:
        # The log holds every commit since the last checkpoint; a checkpoint that emptied it has
        # already synced the database file (synchronous=NORMAL syncs after each checkpoint).
        for path in (self._wal, self._path):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return

    def write(self) -> AbstractContextManager[Tx]:
        """A serialised read-write transaction (``BEGIN IMMEDIATE``); on disk when the block ends."""
        return self._transaction("BEGIN IMMEDIATE", durable=True)

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction."""
        return self._transaction("BEGIN", durable=False)

    def ping(self) -> None:
        """Run ``SELECT 1``."""
        try:
            with self._lock:
                self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite is not answering: {exc}") from None

    def _checkpoints(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
        except sqlite3.Error:
            _log.exception("the background checkpoint could not open %s; SQLite's own will do", self._path)
            return
        try:
            while not self._stop.wait(CHECKPOINT_EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy or failing now; the next round or the backstop tries again
                    _log.warning("background checkpoint of %s failed", self._path, exc_info=True)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the background checkpoint and close the connection (this checkpoints the write-ahead log)."""
        self._stop.set()
        self._checkpointer.join()
        with self._lock:
            self._conn.close()
