"""Child process for test_crash.py: append from many threads until SIGKILLed.

Usage: ``python crash_writer.py SETTINGS_JSON ROUND WRITERS [STALL_AT_CHECKPOINT]``.

Prints ``ready`` once the ledger is open, then one ``<index> <writer> <seq>`` line per entry,
written and flushed only *after* ``append`` returned (so every line is an acknowledged,
durable append). With STALL_AT_CHECKPOINT = k > 0, the k-th checkpoint the ledger writes
stops inside its transaction, after the checkpoint row was inserted and before the commit,
and ``stalled-in-checkpoint`` is printed: the parent kills the process right there.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from finpilot.audit import Entry, open_ledger
from finpilot.core import Settings

_out = threading.Lock()


def emit(line: str) -> None:
    """One whole line per write, so lines from different threads never interleave."""
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main() -> None:
    settings = Settings.model_validate_json(sys.argv[1])
    round_no, writers = int(sys.argv[2]), int(sys.argv[3])
    stall_at = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ledger = open_ledger(settings)
    if stall_at:
        store = ledger.store
        real = store.write_checkpoint
        made = [0]

        def stalled(*args: Any) -> None:
            real(*args)
            made[0] += 1
            if made[0] >= stall_at:
                emit("stalled-in-checkpoint")
                time.sleep(600)  # the parent kills us here, inside the uncommitted transaction

        store.write_checkpoint = stalled  # type: ignore[method-assign]

    def write(w: int) -> None:
        seq = 0
        while True:
            seq += 1
            index = ledger.append(
                Entry(
                    kind="custom.crash-test",
                    actor=f"writer:{w}",
                    action="append",
                    subject=f"round:{round_no}",
                    outcome="ok",
                    evidence={"round": round_no, "writer": w, "seq": seq},
                )
            )
            emit(f"{index} {w} {seq}")

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    emit("ready")
    for t in threads:
        t.start()
    time.sleep(600)  # never returns normally: the parent SIGKILLs us


if __name__ == "__main__":
    main()
