"""Payment traffic for chaos drills: the records, and :class:`TrafficRun`, which runs the generator process.

The generator runs in its own process so that it does not share an interpreter (and its GIL)
with the router and controller it measures. It opens its own accounts and card through the
router, then sends transfers (settlement -> customer) and card authorizations (customer ->
merchant) in turn, each with a fresh ``Idempotency-Key`` and an amount no other request of
the run has, so a duplicate is visible in the ledger as a second row with the same accounts
and amount. By default it never retries: a failed request is what a client would have seen,
and the router's retries are what the drill measures. With ``retry_s`` (the database fault) it
resends a request that got no answer or a 502/503/504 with the *same* key for up to that long,
as a real client must when a commit's outcome is unknown; the record keeps how many attempts
it took, so retries are reported apart from failures. Every request is recorded, acknowledged
or not.

The generator is :mod:`finpilot.heal._chaos._client`, a module of its own, so that running it
with ``python -m`` does not find it already imported by the package. It talks to its parent in
JSON lines: it prints ``{"started": ..., "accounts": ...}`` once its accounts exist, sends until
its stdin closes, then writes every record to ``--out`` and prints ``{"done": N}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finpilot.core import StorageError


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One payment request as the client saw it.

    ``source``/``target`` are the paying and receiving account; ``status`` is None when no
    response arrived (``error`` says why); ``id`` is the transaction or authorization id of an
    acknowledged (2xx) request. ``t0`` is the first send, ``t1`` the last answer, and
    ``attempts`` how many times the request was sent with its key.
    """

    op: str
    key: str
    amount: int
    source: str
    target: str
    t0: float
    t1: float
    status: int | None
    id: str | None
    error: str | None
    attempts: int = 1

    @property
    def acked(self) -> bool:
        """The service acknowledged it (2xx with an id)."""
        return self.status is not None and 200 <= self.status < 300 and self.id is not None

    def to_json(self) -> list[Any]:
        """Compact JSON form (one list per record)."""
        return [
            self.op,
            self.key,
            self.amount,
            self.source,
            self.target,
            self.t0,
            self.t1,
            self.status,
            self.id,
            self.error,
            self.attempts,
        ]

    @classmethod
    def from_json(cls, row: list[Any]) -> RequestRecord:
        """Inverse of :meth:`to_json`."""
        return cls(*row)


class TrafficRun:
    """Start payment traffic against ``address`` at ``rate`` per second; :meth:`stop` returns every record.

    ``retry_s`` > 0 makes the client resend unanswered requests with the same key (module docstring).
    ``token_file`` is the payments API token by reference (a chmod 600 file), passed on as a path.
    """

    def __init__(
        self,
        address: tuple[str, int],
        *,
        rate: float,
        run: str,
        out: Path,
        retry_s: float = 0.0,
        token_file: Path | None = None,
    ) -> None:
        self.address, self.rate, self.run, self.out, self.retry_s = address, rate, run, out, retry_s
        self.token_file = token_file
        self.accounts: dict[str, str] = {}
        self.started = 0.0
        self.elapsed = 0.0
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> TrafficRun:
        """Start the generator and wait until its accounts exist and it sends."""
        argv = [sys.executable, "-m", "finpilot.heal._chaos._client", "--host", self.address[0]]
        argv += ["--port", str(self.address[1]), "--rate", str(self.rate), "--run", self.run, "--out", str(self.out)]
        argv += ["--retry-s", str(self.retry_s)]
        if self.token_file is not None:
            argv += ["--token-file", str(self.token_file)]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        stdout = self._proc.stdout
        assert stdout is not None
        result: list[str] = []
        # A thread, so a generator stuck in its setup cannot block the drill past ``timeout``.
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = result[0] if result else ""
        if not line.strip():
            self._proc.kill()
            self._proc.wait()
            raise StorageError(
                "the drill's traffic generator did not start (could not open its accounts)",
                fix="check that the payments service answers through its router",
            )
        hello = json.loads(line)
        self.accounts, self.started = hello["accounts"], hello["started"]
        return self

    def stop(self, timeout: float = 60.0) -> list[RequestRecord]:
        """Stop sending, wait for requests in flight, and return every record."""
        assert self._proc is not None
        self._proc.communicate("", timeout=timeout)
        if not self.out.exists():
            raise StorageError("the drill's traffic generator wrote no records", fix=f"see {self.out.parent}")
        lines = self.out.read_text().splitlines()
        records = [RequestRecord.from_json(json.loads(line)) for line in lines if line]
        # The span of the requests themselves: the achieved rate leaves out start-up and shutdown.
        self.elapsed = max((r.t1 for r in records), default=0.0) - min((r.t0 for r in records), default=0.0)
        return records

    def kill(self) -> None:
        """Stop the generator without waiting for its records (cleanup after an error)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
