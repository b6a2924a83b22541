"""The watch thread both database healers share: check every period, audit a repeated error once."""

from __future__ import annotations

import threading
import time
from typing import Any, Self

from finpilot.audit import EntryKind, Ledger
from finpilot.audit.kinds import DB_HEALER
from finpilot.core import FinpilotError


class Watcher:
    """Runs ``check_once`` every ``period_s`` on a daemon thread until :meth:`stop`.

    A :class:`FinpilotError` from a check is audited as ``db.healer``/``error`` on ``subject``
    once per distinct message (a server that stays down must not flood the ledger), and the
    loop keeps watching.
    """

    thread_name = "finpilot-db-watch"
    join_timeout_s = 60.0

    def __init__(self, ledger: Ledger, *, actor: str, subject: str, period_s: float) -> None:
        self.ledger = ledger
        self.actor = actor
        self._subject = subject
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error: str | None = None

    def check_once(self) -> None:
        """One check; subclasses act on what they see."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start the watch thread."""
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def stop(self) -> None:
        """Stop the watch thread (an action in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_s)

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.check_once()
            except FinpilotError as exc:
                message = str(exc)[:300]
                if message != self._last_error:
                    self._last_error = message
                    self._audit(DB_HEALER, "check", self._subject, "error", {"error": message})
            else:
                self._last_error = None
            self._stop.wait(max(0.0, self._period_s - (time.monotonic() - started)))

    def _audit(self, kind: EntryKind[Any], action: str, subject: str, outcome: str, evidence: dict[str, Any]) -> None:
        self.ledger.append(
            kind.entry(actor=self.actor, action=action, subject=subject, outcome=outcome, evidence=evidence)
        )
