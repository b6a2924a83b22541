"""Keep a :class:`Partition` in step with the ledger from a thread: catch up every 25 ms, snapshot now and then."""

from __future__ import annotations

import logging
import threading
import time

from finpilot.core import FinpilotError
from finpilot.fraud._serving._partition import Partition

_log = logging.getLogger("finpilot.fraud")

TAIL_S = 0.025
"""How often a scorer reads the ledger's new entries: terminal windows lag other scorers by about this."""
SNAPSHOT_S = 30.0
"""How often a scorer snapshots its partition (off the request path); a restart replays at most this much."""


class PartitionTail:
    """A daemon thread: :meth:`Partition.catch_up` every ``tail_s``, :meth:`Partition.save` every ``snapshot_s``.

    A save returns once its child is forked; each round then checks whether the child is done and
    commits its snapshot (:meth:`Partition.finish_save`).
    """

    def __init__(self, partition: Partition, *, tail_s: float = TAIL_S, snapshot_s: float = SNAPSHOT_S) -> None:
        self.partition = partition
        self.tail_s = tail_s
        self.snapshot_s = snapshot_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fraud-partition-tail", daemon=True)

    def start(self) -> PartitionTail:
        """Start the thread; ``self``."""
        self._thread.start()
        return self

    def _run(self) -> None:
        next_save = time.monotonic() + self.snapshot_s
        while not self._stop.wait(self.tail_s):
            try:
                self.partition.catch_up()
                # The snapshot's child writes while the tail goes on; a save still being written
                # when the next falls due (tens of seconds at ten million cards) is not doubled.
                idle = self.partition.finish_save(wait=False)
                if idle and time.monotonic() >= next_save:
                    next_save = time.monotonic() + self.snapshot_s
                    self.partition.save(wait=False)
            except (FinpilotError, OSError) as exc:
                # The ledger is briefly unavailable (a locked SQLite file, a PostgreSQL failover):
                # the next round reads from the same position, so nothing is skipped.
                _log.warning("fraud partition %s: tail failed: %s", self.partition.index, exc)

    def stop(self, *, save: bool = True) -> None:
        """Stop the thread, catch up one last time and (``save``) snapshot."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.partition.catch_up()
        if save:
            self.partition.save()
        else:
            self.partition.finish_save(wait=True)
