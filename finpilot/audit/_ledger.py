"""The ledger: group-committed durable appends, signed checkpoints, proofs, verify, erasure.

One writer thread owns all writes. Callers validate and hash their entries in their own
thread, join the batch being filled, and wait on that batch's event; the writer takes the
whole batch, writes it in one transaction (one fsync for many entries) and wakes everyone.
``append`` therefore returns an index only after the entry is on disk. ``append_async`` joins
the same batches from an event loop: its coroutine is resumed (through
``loop.call_soon_threadsafe``) once the batch is durable, and no thread waits for it. The
writer re-reads the stored size under the backend's write lock, so several processes can share
a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from finpilot.audit._entry import CUSTOM_PREFIX, DECLARED_KINDS, Entry, PersonalRow, check_kind, commitment, prepare
from finpilot.audit._keys import load_or_create_key
from finpilot.audit._merkle import (
    consistency_path,
    inclusion_path,
    leaf_hash,
    range_hash,
    verify_consistency,
)
from finpilot.audit._note import Verifier, checkpoint_body, open_checkpoint, sign_note, verifier_key
from finpilot.audit._store import Store, StoredCheckpoint
from finpilot.audit._system import ACTOR_EXACT, ACTOR_PREFIXES
from finpilot.audit._tiles import HEIGHT, WIDTH, TileReader, TreeState
from finpilot.audit._verifier import (
    ConsistencyProof,
    InclusionProof,
    Problem,
    TreeVerifier,
    VerifyReport,
    check_checkpoints,
    feed_entries,
)
from finpilot.audit.kinds import AUDIT_ERASURE
from finpilot.core import (
    Clock,
    InputError,
    IntegrityError,
    NotFoundError,
    Settings,
    StorageError,
    private_dir,
    rfc3339,
    tighten_tree,
    utc_now,
)

GATHER_S = 0.0005  # longest a group commit waits for its batch to fill (see Ledger._gather)
ERASURE_KIND = AUDIT_ERASURE.name
_ERASURE_MARK = b'"kind":"' + ERASURE_KIND.encode() + b'"'


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: its index, leaf bytes and parsed fields."""

    index: int
    data: bytes

    @property
    def fields(self) -> dict[str, Any]:
        """The leaf's fields."""
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed

    @property
    def leaf_hash(self) -> bytes:
        """RFC 9162 leaf hash."""
        return leaf_hash(self.data)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"index": self.index, "leaf_hash": self.leaf_hash.hex(), **self.fields}


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure removed, and where it is recorded."""

    indices: tuple[int, ...]
    record_index: int | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"erased_indices": list(self.indices), "record_index": self.record_index}


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True)
class _Part:
    """One caller's validated entries, before they join a batch."""

    datas: list[bytes] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)
    personal: list[tuple[int, PersonalRow]] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    # Leaf bytes and hashes in flat lists rather than one tuple per entry: bytes are invisible
    # to the cyclic GC, so a large batch no longer sets off full collections (a third of the
    # cost of a 200k-entry append_many, measured).
    datas: list[bytes] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)
    personal: list[tuple[int, PersonalRow]] = field(default_factory=list)
    # Held until the batch is durable. Each waiter takes it and passes it straight on: 64
    # threads waking this way measured 22-23k appends/s against 16-18k with a threading.Event,
    # whose Condition makes every woken thread queue on one more lock in Python code.
    done: threading.Lock = field(default_factory=_held_lock)
    start: int = -1
    error: BaseException | None = None
    # Coroutines awaiting this batch: (loop, future, position, count). Registered under the
    # ledger's condition before the writer can take the batch, woken by the writer after it.
    awaiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[list[int]], int, int]] | None = None


class Ledger:
    """An append-only, signed, verifiable log. Use :func:`open_ledger` to get one."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        keys_dir: Path,
    ) -> None:
        self.store = store
        self._settings = settings.audit
        self._origin = settings.audit.origin
        self._clock = clock
        self._key = load_or_create_key(keys_dir)
        self._verifier = Verifier.parse(verifier_key(self._origin, self._key.public_key()))
        self._reader = TileReader(store.tile)
        self._cv = threading.Condition()
        # Batches waiting for the writer, oldest first; a batch stops taking newcomers at
        # max_batch entries so one transaction stays bounded (one caller's batch is never split).
        self._batches: deque[_Batch] = deque()
        self._cp_waiters: list[tuple[threading.Event, list[Any]]] = []
        self._closing = False
        self._writer: threading.Thread | None = None
        self._state: TreeState | None = None
        self._last_cp_size = -1
        self._last_batch_len = 0
        self._last_cp_at = 0.0

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def close(self) -> None:
        """Flush pending appends, sign a final checkpoint if the log grew, and close storage."""
        writer = self._writer
        if writer is not None:
            with self._cv:
                self._closing = True
                self._cv.notify_all()
            writer.join()
            self._writer = None
        self.store.close()

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._cv:
                if self._writer is None:
                    if self._closing:
                        raise StorageError("the ledger is closed")
                    self._writer = threading.Thread(target=self._run, name="finpilot-ledger-writer", daemon=True)
                    self._writer.start()

    # ------------------------------------------------------------------ appends
    def _prepare(self, entries: Sequence[Entry], *, internal: bool = False) -> _Part:
        now = rfc3339(self._clock())
        limit = self._settings.max_entry_bytes
        out = _Part()
        datas, hashes = out.datas, out.hashes
        declared, custom_len = DECLARED_KINDS, len(CUSTOM_PREFIX)
        system_actors, system_prefixes = ACTOR_EXACT, ACTOR_PREFIXES
        for i, entry in enumerate(entries):
            if not isinstance(entry, Entry):
                raise InputError(f"item {i} is not an Entry", field=f"entries[{i}]")
            try:
                data, digest, personal = prepare(entry, now, limit, reserved_ok=internal)
                # The kind last: prepare has proved it is text, free of card numbers and tokens,
                # so the error may name it. Inline, since this runs for every entry appended.
                kind = entry.kind
                spec = declared.get(kind)
                if spec is None:
                    actor = entry.actor
                    if (
                        not (kind.startswith(CUSTOM_PREFIX) and len(kind) > custom_len)
                        or actor in system_actors
                        or actor.startswith(system_prefixes)
                    ):
                        check_kind(entry)  # raises, naming the kind (or the system actor) and the fix
                elif not entry.system:
                    spec.check_submitted(entry)  # arrived as data: reserved refused, the rest checked
            except InputError as exc:
                if len(entries) > 1:
                    exc.message = f"entries[{i}]: {exc.message}"
                    exc.field = f"entries[{i}].{exc.field}" if exc.field else f"entries[{i}]"
                raise
            datas.append(data)
            hashes.append(digest)
            if personal is not None:
                out.personal.append((i, personal))
        return out

    def append(self, entry: Entry) -> int:
        """Append one entry; return its index once it is durable."""
        return self._submit(self._prepare([entry]))[0]

    def append_many(self, entries: Sequence[Entry]) -> list[int]:
        """Append entries as one batch; every entry is validated before any is written."""
        if not entries:
            return []
        return self._submit(self._prepare(entries))

    async def append_async(self, entry: Entry) -> int:
        """:meth:`append` for a coroutine: the index once the entry is durable, holding no thread meanwhile.

        The entry is validated and hashed here, on the event loop (refusals raise at once, as
        from ``append``), then joins the same group-commit batch as every other caller; the
        coroutine resumes on its loop when that batch's transaction has committed, and storage
        errors raise here. Cancelling the awaiting task does not withdraw the entry: it may
        still be written.
        """
        part = self._prepare([entry])
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._enqueue(part, (loop, future))
        return (await future)[0]

    def _submit(self, part: _Part) -> list[int]:
        batch, pos = self._enqueue(part, None)
        batch.done.acquire()
        batch.done.release()
        return _indices(batch, pos, len(part.datas))

    def _enqueue(
        self, part: _Part, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[list[int]]] | None
    ) -> tuple[_Batch, int]:
        self._ensure_writer()
        count = len(part.datas)
        with self._cv:
            if self._closing:
                raise StorageError("the ledger is closed")
            batches = self._batches
            if not batches or (batches[-1].datas and len(batches[-1].datas) + count > self._settings.max_batch):
                batches.append(_Batch())
            batch = batches[-1]
            pos = len(batch.datas)
            batch.datas.extend(part.datas)
            batch.hashes.extend(part.hashes)
            batch.personal.extend((pos + i, row) for i, row in part.personal)
            if waiter is not None:
                if batch.awaiting is None:
                    batch.awaiting = []
                batch.awaiting.append((waiter[0], waiter[1], pos, count))
            self._cv.notify()
        return batch, pos

    # ------------------------------------------------------------------ writer thread
    def _load_state(self, size: int) -> TreeState:
        try:
            return TreeState.load(size, self.store.tile)
        except KeyError as exc:
            raise IntegrityError(
                f"stored tree is incomplete ({exc})", fix="run `finpilot audit verify` to find the damage"
            ) from None

    def _run(self) -> None:
        interval = self._settings.checkpoint_interval_s
        while True:
            with self._cv:
                while True:
                    due = self._checkpoint_due(interval)
                    if self._batches or self._cp_waiters or self._closing or due:
                        break
                    wait = None
                    if self._state is not None and self._state.size != self._last_cp_size:
                        wait = max(0.0, self._last_cp_at + interval - time.monotonic())
                    self._cv.wait(wait)
                self._gather()
                batch = self._batches.popleft() if self._batches else _Batch()
                waiters, self._cp_waiters = self._cp_waiters, []
                closing = self._closing
            if batch.datas:
                self._write(batch)
            if closing:
                with self._cv:
                    last = not self._batches
            else:
                last = False
            if waiters or self._checkpoint_due(interval) or last:
                result: Any
                try:
                    result = self._checkpoint()
                except Exception as exc:  # handed to the waiting callers, who raise it
                    result = exc
                for event, box in waiters:
                    box.append(result)
                    event.set()
            if last:
                return

    def _gather(self) -> None:
        """Group commit's one knob: wait briefly for a batch to grow to the last one's size.

        The callers woken by the last commit are still on their way back with their next
        entries; committing the first few that arrive would spend an fsync on a fraction of
        them. A lone writer never waits here (its batches have one entry), and the wait is
        bounded by GATHER_S, a fraction of one fsync. Called with the condition held.
        """
        if not self._batches or self._closing:
            return
        head = self._batches[0]
        deadline = time.monotonic() + GATHER_S
        while len(self._batches) == 1 and len(head.datas) < self._last_batch_len:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cv.wait(remaining)

    def _checkpoint_due(self, interval: float) -> bool:
        state = self._state
        return (
            state is not None
            and state.size > 0
            and state.size != self._last_cp_size
            and time.monotonic() - self._last_cp_at >= interval
        )

    def _write(self, batch: _Batch) -> None:
        store = self.store
        try:
            stored = store.begin()
            try:
                if self._state is None or self._state.size != stored:
                    self._state = self._load_state(stored)
                state = self._state
                start = state.size
                state.push_many(batch.hashes)
                personal = [(start + i, row) for i, row in batch.personal]
                store.write_entries(start, batch.datas, personal, state.take_dirty(), state.size)
                store.commit()
            except BaseException:
                store.rollback()
                self._state = None  # in-memory edge ran ahead of the store; reload next time
                raise
            batch.start = start
            self._last_batch_len = len(batch.datas)
        except Exception as exc:
            batch.error = exc
        finally:
            batch.done.release()
            if batch.awaiting:
                _wake(batch)

    def _checkpoint(self) -> StoredCheckpoint | None:
        store = self.store
        stored = store.begin()
        try:
            if self._state is None or self._state.size != stored:
                self._state = self._load_state(stored)
            size = self._state.size
            latest = store.latest_checkpoint()
            if size == 0 or (latest is not None and latest.size == size):
                store.rollback()
                self._last_cp_size, self._last_cp_at = size, time.monotonic()
                return latest
            root = self._state.root()
            if latest is not None:
                self._refuse_inconsistent(latest, size, root)
            body = checkpoint_body(self._origin, size, root)
            note = sign_note(body, self._origin, self._key)
            seq = 1 if latest is None else latest.seq + 1
            created = rfc3339(self._clock())
            store.write_checkpoint(seq, size, root, note, created)
            store.commit()
        except BaseException:
            store.rollback()
            raise
        self._last_cp_size, self._last_cp_at = size, time.monotonic()
        return StoredCheckpoint(seq, size, root, note, created)

    def _refuse_inconsistent(self, latest: StoredCheckpoint, size: int, root: bytes) -> None:
        # Never sign a tree that is not an append-only extension of what we signed before.
        try:
            signed = open_checkpoint(latest.note, self._verifier)
        except ValueError as exc:
            raise IntegrityError(f"latest checkpoint {latest.seq} does not verify: {exc}") from None
        if signed.size > size:
            raise IntegrityError(
                f"the log holds {size} entries but checkpoint {latest.seq} signed {signed.size}",
                fix="the store was rolled back or truncated; run `finpilot audit verify`",
            )
        try:
            proof = consistency_path(self._reader, signed.size, size)
        except KeyError as exc:
            raise IntegrityError(f"cannot prove consistency with checkpoint {latest.seq}: {exc}") from None
        if not verify_consistency(signed.size, size, signed.root, root, proof):
            self._reader.forget()
            raise IntegrityError(
                f"refusing to sign: the log is not consistent with checkpoint {latest.seq}",
                fix="run `finpilot audit verify` to find the first bad index",
            )

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> StoredCheckpoint | None:
        """Sign a checkpoint now if the log grew; return the latest checkpoint."""
        self._ensure_writer()
        event = threading.Event()
        box: list[Any] = []
        with self._cv:
            self._cp_waiters.append((event, box))
            self._cv.notify()
        event.wait()
        result = box[0]
        if isinstance(result, BaseException):
            raise result
        return result  # type: ignore[no-any-return]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The newest signed checkpoint."""
        return self.store.latest_checkpoint()

    def checkpoints(self, after_seq: int = 0, limit: int | None = None) -> list[StoredCheckpoint]:
        """Signed checkpoints in order."""
        return self.store.checkpoints(after_seq, limit)

    def verifier_key(self) -> str:
        """The C2SP verifier key that checks this log's checkpoints."""
        return verifier_key(self._origin, self._key.public_key())

    def public_key_pem(self) -> str:
        """The signing key's public half as PEM."""
        return self._key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    # ------------------------------------------------------------------ reads
    @property
    def size(self) -> int:
        """Number of durable entries."""
        return self.store.size()

    @property
    def origin(self) -> str:
        """The log's identity line."""
        return self._origin

    def entry(self, index: int) -> StoredEntry:
        """One entry by index."""
        rows = self.store.entries(index, index + 1) if index >= 0 else []
        if not rows:
            raise NotFoundError(f"no entry at index {index}", field="index", fix=f"the log holds {self.size} entries")
        return StoredEntry(*rows[0])

    def tail(self, limit: int = 20, before: int | None = None) -> list[StoredEntry]:
        """The newest entries, newest first."""
        if limit < 1 or limit > 10_000:
            raise InputError("limit must be between 1 and 10000", field="limit")
        end = self.size if before is None else min(before, self.size)
        rows = self.store.entries(max(0, end - limit), end)
        return [StoredEntry(i, d) for i, d in reversed(rows)]

    # ------------------------------------------------------------------ proofs
    def _signed_size(self, needed: int) -> StoredCheckpoint:
        latest = self.store.latest_checkpoint()
        if latest is None or latest.size < needed:
            latest = self.checkpoint()
        if latest is None or latest.size < needed:
            raise NotFoundError(f"no signed checkpoint covers {needed} entries", fix="append entries first")
        return latest

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """Prove entry ``index`` is in the tree of ``tree_size`` (default: the latest checkpoint)."""
        if index < 0:
            raise InputError("index must be >= 0", field="index")
        if tree_size is None:
            cp: StoredCheckpoint | None = self._signed_size(index + 1)
            assert cp is not None
            tree_size = cp.size
        else:
            if not index < tree_size <= self.size:
                raise InputError(f"tree_size must be above the index and at most {self.size}", field="tree_size")
            cp = self.store.checkpoint_for_size(tree_size)
        data = self.entry(index).data
        path = inclusion_path(self._reader, index, tree_size)
        root = cp.root if cp is not None else range_hash(self._reader, 0, tree_size)
        return InclusionProof(
            index=index,
            tree_size=tree_size,
            leaf_hash=leaf_hash(data),
            root_hash=root,
            hashes=tuple(path),
            checkpoint=cp.note if cp is not None else None,
            leaf_data=data.decode(),
        )

    def consistency_proof(self, old: int, new: int | None = None) -> ConsistencyProof:
        """Prove the tree of ``new`` entries extends the tree of ``old`` (default new: latest checkpoint)."""
        if new is None:
            new = self._signed_size(max(old, 1)).size
        if not 0 < old <= new <= self.size:
            raise InputError(f"need 0 < old <= new <= {self.size}", field="old")
        path = consistency_path(self._reader, old, new)
        return ConsistencyProof(
            old_size=old,
            new_size=new,
            old_root=range_hash(self._reader, 0, old),
            new_root=range_hash(self._reader, 0, new),
            hashes=tuple(path),
        )

    # ------------------------------------------------------------------ verify
    def verify(self, trusted_checkpoint: str | None = None) -> VerifyReport:
        """Recompute every hash from the stored entries and check every tile, signature and root.

        ``trusted_checkpoint`` is a signed note the caller kept from earlier (a witness's copy):
        the only way to detect that the newest entries *and* checkpoints were cut off together.
        """
        store = self.store
        report = VerifyReport()
        size = store.size()
        report.tree_size = size
        cps = store.checkpoints()
        trusted = None
        if trusted_checkpoint is not None:
            try:
                trusted = open_checkpoint(trusted_checkpoint, self._verifier)
            except ValueError as exc:
                raise InputError(f"trusted checkpoint: {exc}", field="trusted_checkpoint") from None
        sizes = [c.size for c in cps] + ([trusted.size] if trusted else [])
        tree = TreeVerifier(report, sizes, store.tile)
        commitments: dict[int, str] = {}
        erased: set[int] = set()

        def on_leaf(index: int, data: bytes) -> None:
            # Only leaves that can hold a commitment or an erasure record are parsed; a broken
            # one is a problem to report, never a reason for verify itself to fail.
            if b'"personal":"' not in data and _ERASURE_MARK not in data:
                return
            try:
                fields = json.loads(data)
                value = fields.get("personal")
                if isinstance(value, str):
                    commitments[index] = value
                if fields.get("kind") == ERASURE_KIND:
                    erased.update(int(i) for i in fields["evidence"]["indices"])
            except (ValueError, TypeError, KeyError, AttributeError):
                report.add(Problem("entry", index, f"entry {index} is not a well-formed leaf"))

        verified = feed_entries(report, tree, store.iter_entries(), on_leaf)
        tree.finish()
        if verified == report.entries and verified != size:
            report.add(Problem("entry", min(verified, size), f"the log records {size} entries but holds {verified}"))
        self._check_extra_tiles(report, verified)
        check_checkpoints(
            report,
            [(c.seq, c.size, c.root, c.note) for c in cps],
            tree.roots,
            self._verifier,
            self._origin,
            verified,
            stored_root=self._stored_root,
        )
        if trusted is not None:
            if trusted.size > verified:
                report.add(
                    Problem(
                        "checkpoint",
                        verified,
                        f"a trusted checkpoint covers {trusted.size} entries; the log holds {verified}",
                    )
                )
            elif tree.roots.get(trusted.size) != trusted.root:
                report.add(Problem("checkpoint", 0, "the log does not match the trusted checkpoint"))
        self._check_personal(report, commitments, erased, verified)
        if report.latest_checkpoint_size is not None and report.latest_checkpoint_size < verified:
            report.notes.append(f"entries from {report.latest_checkpoint_size} on are not yet covered by a checkpoint")
        return report

    def _stored_root(self, size: int) -> bytes | None:
        try:
            return range_hash(TileReader(self.store.tile, cache_tiles=0), 0, size)
        except KeyError:
            return None

    def _check_extra_tiles(self, report: VerifyReport, size: int) -> None:
        for level, index, _blob in self.store.iter_tiles():
            count = size >> (HEIGHT * level)
            if index * WIDTH >= count:
                # Whatever the tile claims to cover, the doubt starts where the entries end.
                report.add(Problem("hash", size, f"tile {level}/{index} lies beyond the end of the log"))

    def _check_personal(self, report: VerifyReport, commitments: dict[int, str], erased: set[int], size: int) -> None:
        for row in self.store.iter_personal():
            want = commitments.pop(row.index, None)
            if want is None:
                report.add(
                    Problem(
                        "personal",
                        min(row.index, size),
                        f"personal data stored for entry {row.index}, which commits to none",
                    )
                )
            elif commitment(row.row.salt, row.row.payload) != want or not _subject_matches(row.row):
                # The subject column is what erasure searches by: a relabelled row would escape it.
                report.add(
                    Problem(
                        "personal",
                        row.index,
                        f"personal data of entry {row.index} does not match its commitment",
                    )
                )
        for index in sorted(commitments):
            if index not in erased:
                report.add(
                    Problem("personal", index, f"personal data of entry {index} is gone without an erasure record")
                )

    # ------------------------------------------------------------------ erasure
    def erase(self, data_subject: str, *, actor: str) -> ErasureReport:
        """Crypto-shred one data subject: delete their payloads and salts; the leaves keep only
        commitments nobody can open. The erasure itself is recorded first (without the subject)."""
        if not data_subject.strip():
            raise InputError("data subject must not be empty", field="data_subject")
        rows = self.store.personal_for(data_subject)
        if not rows:
            # Nothing (left) to delete; scrub anyway, so re-running finishes an interrupted erase.
            self.store.scrub()
            return ErasureReport(indices=(), record_index=None)
        indices = tuple(r.index for r in rows)
        record_entry = AUDIT_ERASURE.entry(
            actor=actor,
            action="erase",
            subject="personal-data",
            outcome="erased",
            evidence={"indices": list(indices), "count": len(indices), "reason": "data subject erasure request"},
        )
        record = self._submit(self._prepare([record_entry], internal=True))[0]
        store = self.store
        store.begin()
        try:
            store.delete_personal(indices)
            store.commit()
        except BaseException:
            store.rollback()
            raise
        store.scrub()
        return ErasureReport(indices=indices, record_index=record)

    def export(self, directory: Path) -> dict[str, Any]:
        """Write an offline-verifiable bundle; see :func:`finpilot.audit._export.export_bundle`."""
        from finpilot.audit._export import export_bundle

        return export_bundle(self, directory)


def _indices(batch: _Batch, pos: int, count: int) -> list[int]:
    """A caller's indices in a written batch, or the batch's error raised as ``append`` raises it."""
    error = batch.error
    if error is not None:
        if isinstance(error, IntegrityError | StorageError):
            raise error
        raise StorageError(f"append failed: {error}") from error
    return list(range(batch.start + pos, batch.start + pos + count))


def _wake(batch: _Batch) -> None:
    """Resume the coroutines awaiting a written batch: one thread-safe call per event loop, not per entry."""
    assert batch.awaiting is not None
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[int]], int, int]]] = {}
    for loop, future, pos, count in batch.awaiting:
        by_loop.setdefault(loop, []).append((future, pos, count))
    for loop, waiters in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to answer
            loop.call_soon_threadsafe(_settle, batch, waiters)


def _settle(batch: _Batch, waiters: list[tuple[asyncio.Future[list[int]], int, int]]) -> None:
    # Runs on the waiters' event loop.
    for future, pos, count in waiters:
        if future.done():  # cancelled while the batch was being written
            continue
        try:
            future.set_result(_indices(batch, pos, count))
        except (IntegrityError, StorageError) as exc:
            future.set_exception(exc)


def _subject_matches(row: PersonalRow) -> bool:
    try:
        return bool(json.loads(row.payload).get("data_subject") == row.data_subject)
    except (ValueError, AttributeError):
        return False


def open_ledger(settings: Settings, *, clock: Clock = utc_now) -> Ledger:
    """Open (creating if needed) the ledger the settings name: PostgreSQL with a DSN, else SQLite."""
    data_dir = Path(settings.data_dir)
    try:
        private_dir(data_dir)
        # Checked at every start, before SQLite opens anything: a database's -wal and -shm take
        # its mode. The signing key is spared: its own check refuses a loose key.
        tighten_tree(data_dir, spare=("keys",))
    except OSError as exc:
        raise StorageError(
            f"cannot create data directory {data_dir}: {exc}", fix="choose a writable --data-dir"
        ) from None
    store: Store
    if settings.storage.dsn:
        from finpilot.audit._postgres import PostgresStore

        store = PostgresStore(settings.storage.dsn, settings.storage.schema_name)
    else:
        from finpilot.audit._sqlite import SQLiteStore

        store = SQLiteStore(data_dir / "finpilot.db")
    try:
        return Ledger(store, settings, clock=clock, keys_dir=data_dir / "keys")
    except BaseException:
        store.close()
        raise
