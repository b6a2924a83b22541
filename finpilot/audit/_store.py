"""The storage interface every ledger backend implements (one file per backend).

The ledger's writer thread is the only caller of the write methods, and it brackets
them with :meth:`Store.begin` and :meth:`Store.commit`; ``begin`` takes the backend's
write lock, so several processes may share one log safely. Read methods may be called
from any thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from finpilot.audit._entry import PersonalRow


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as stored."""

    seq: int
    size: int
    root: bytes
    note: str
    created_at: str

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "tree_size": self.size,
            "root_hash": self.root.hex(),
            "note": self.note,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class StoredPersonal:
    """A personal-data row as stored."""

    index: int
    row: PersonalRow


class Store(ABC):
    """A ledger backend."""

    # --- writing (writer thread only) ---
    @abstractmethod
    def begin(self) -> int:
        """Start a write transaction holding the log's write lock; return the stored tree size."""

    @abstractmethod
    def write_entries(
        self,
        start: int,
        data: Sequence[bytes],
        personal: Sequence[tuple[int, PersonalRow]],
        tiles: dict[tuple[int, int], bytes],
        new_size: int,
    ) -> None:
        """Insert entries ``start..start+len(data)``, their personal rows and tiles; set the size."""

    @abstractmethod
    def write_checkpoint(self, seq: int, size: int, root: bytes, note: str, created_at: str) -> None:
        """Store a signed checkpoint."""

    @abstractmethod
    def delete_personal(self, indices: Sequence[int]) -> int:
        """Delete personal rows by entry index; return how many were deleted."""

    @abstractmethod
    def commit(self) -> None:
        """Make the transaction durable."""

    @abstractmethod
    def rollback(self) -> None:
        """Abandon the transaction."""

    @abstractmethod
    def scrub(self) -> None:
        """After deletes, make deleted bytes unrecoverable from the store's files where the engine allows."""

    # --- reading (any thread) ---
    @abstractmethod
    def size(self) -> int:
        """Committed tree size."""

    @abstractmethod
    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """``(index, data)`` for stored entries with ``start <= index < end``, in index order."""

    @abstractmethod
    def iter_entries(self, start: int = 0, chunk: int = 65536) -> Iterator[tuple[int, bytes]]:
        """Every stored entry from ``start`` on, in index order, including any beyond the size."""

    @abstractmethod
    def tile(self, level: int, index: int) -> bytes | None:
        """A stored tile's hashes."""

    @abstractmethod
    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tile as ``(level, index, hashes)``."""

    @abstractmethod
    def checkpoints(self, after_seq: int = 0, limit: int | None = None) -> list[StoredCheckpoint]:
        """Checkpoints with ``seq > after_seq`` in order."""

    @abstractmethod
    def checkpoint_for_size(self, size: int) -> StoredCheckpoint | None:
        """The first checkpoint signed for exactly ``size`` entries, if any."""

    @abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint with the highest sequence number."""

    @abstractmethod
    def personal_for(self, data_subject: str) -> list[StoredPersonal]:
        """Personal rows about one data subject."""

    @abstractmethod
    def iter_personal(self) -> Iterator[StoredPersonal]:
        """Every personal row."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the data lives, with no credentials."""
