"""The runbook engine: audit entries in, rate-limited and audited remediation out.

:meth:`RunbookEngine.attach` subscribes to a running :class:`Controller`; the listener only
queues the entry (it runs on the controller thread), and one worker thread matches it
against every runbook and runs the matching runbooks' steps in order. Each run leaves:

* ``runbook.trigger`` -- the runbook, the triggering entry (kind, subject, ledger index) and
  the planned steps, before any step runs;
* ``runbook.action`` per step -- outcome ``ok`` or ``failed``, with the step's evidence or error;
* ``runbook.rate_limited`` when the limiter refuses a step (the run stops there);
* ``runbook.page`` for a page step, and ``runbook.escalate`` when a step fails or the limit
  trips (once per trip), delivered through the :class:`Pager` too.

Feedback guard: entries whose kind starts with ``runbook.`` or whose actor is a runbook
never trigger runbooks. A runbook whose *action* brings its own trigger back (restart on
``heal.restart``) goes round through the healer's own entries; that loop is what the rate
limit stops.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from finpilot.audit import Entry, EntryKind, Ledger
from finpilot.audit.kinds import RUNBOOK_ACTION, RUNBOOK_ESCALATE, RUNBOOK_PAGE, RUNBOOK_RATE_LIMITED, RUNBOOK_TRIGGER
from finpilot.core import CheckFailedError, FinpilotError, InputError, NotFoundError, utc_now
from finpilot.heal._db._cluster import PgCluster
from finpilot.heal._runbook._actions import (
    ActionHandler,
    ActionRequest,
    failover_action,
    render,
    restart_action,
    rollback_action,
    run_action,
    scale_action,
    variables_for,
)
from finpilot.heal._runbook._page import Pager
from finpilot.heal._runbook._ratelimit import RateDecision, RateLimiter
from finpilot.heal._runbook._record import index_of, safe
from finpilot.heal._runbook._spec import ACTION_NAMES, Runbook, load_runbooks
from finpilot.heal._runtime._controller import Controller

ACTOR_PREFIX = "runbook:"
_log = logging.getLogger("finpilot.heal.runbooks")
_STOP = object()
# Why an action has no handler, for the actions no heal process does by itself.
_MISSING = {
    "failover": "failover needs the local PostgreSQL pair of db.ha (mode local), created with `finpilot db init --ha`",
    "freeze": "freeze is done by the fraud engine, which runs in the console process, not here",
}


class RunbookEngine:
    """Runs runbooks on audit entries (see the module docstring); ``start()`` before, ``stop()`` after."""

    def __init__(
        self,
        runbooks: Sequence[Runbook],
        ledger: Ledger,
        *,
        pager: Pager | None = None,
        queue_size: int = 1000,
        run_env: Mapping[str, str] | None = None,
        run_cwd: Path | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self._ledger = ledger
        self._pager = pager or Pager()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._handlers: dict[str, ActionHandler] = {"run": run_action(env=run_env, cwd=run_cwd, log_dir=log_dir)}
        self._books: tuple[Runbook, ...] = ()
        self._limiters: dict[str, tuple[Any, RateLimiter]] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self._dropped_reported = 0
        self.load(runbooks)

    # ------------------------------------------------------------------ configuration
    @property
    def runbooks(self) -> tuple[Runbook, ...]:
        """The runbooks in effect."""
        return self._books

    def load(self, runbooks: Sequence[Runbook]) -> None:
        """Switch to ``runbooks`` at once; a runbook keeping its name and limit keeps its limiter's history."""
        names = [b.name for b in runbooks]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InputError(f"runbook name '{dup}' is used twice", field="name", fix="give each runbook its own name")
        with self._lock:
            limiters: dict[str, tuple[Any, RateLimiter]] = {}
            for book in runbooks:
                old = self._limiters.get(book.name)
                rl = book.rate_limit
                limiters[book.name] = (
                    old
                    if old is not None and old[0] == rl
                    else (
                        rl,
                        RateLimiter(
                            rl.max_actions, rl.window_s, max_per_target=rl.max_per_target, cooldown_s=rl.cooldown_s
                        ),
                    )
                )
            self._limiters = limiters
            self._books = tuple(runbooks)

    def reload(self, directory: Path) -> list[Runbook]:
        """Load every runbook in ``directory``; on any invalid file raise and keep what was loaded before."""
        books = load_runbooks(directory)
        self.load(books)
        return books

    def register_action(self, name: str, handler: ActionHandler) -> None:
        """Do the action ``name`` (freeze, failover, rollback, or a replacement for a built-in) with ``handler``."""
        if name not in ACTION_NAMES or name == "page":
            raise InputError(
                f"no runbook action is called '{name}'",
                field="action",
                fix=f"register one of: {', '.join(n for n in ACTION_NAMES if n != 'page')}",
            )
        self._handlers[name] = handler

    def attach(self, controller: Controller, *, restart_wait_s: float = 10.0) -> None:
        """Do restart, scale and rollback on ``controller`` and run on every entry it records."""
        self._handlers.setdefault("restart", restart_action(controller, wait_s=restart_wait_s))
        self._handlers.setdefault("scale", scale_action(controller))
        self._handlers.setdefault("rollback", rollback_action(controller))
        controller.add_listener(self.offer)

    def attach_database(self, cluster: PgCluster, *, wait_s: float = 30.0) -> None:
        """Do ``failover`` on the PostgreSQL pair ``cluster`` (waiting up to ``wait_s`` for a failover in progress)."""
        self._handlers.setdefault("failover", failover_action(cluster, self._ledger, wait_s=wait_s))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="finpilot-runbooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the run in progress and stop (queued entries not yet started are dropped)."""
        if self._thread is None:
            return
        while True:
            try:
                self._queue.get_nowait()
                self._done()
            except queue.Empty:
                break
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every offered entry has been handled; return whether that happened in time."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ------------------------------------------------------------------ input
    def offer(self, entry: Entry) -> None:
        """Queue ``entry`` for matching (cheap: safe to call on the controller thread)."""
        if entry.kind.startswith("runbook.") or entry.actor.startswith(ACTOR_PREFIX):
            return  # the engine's own doing never triggers it again
        if not any(book.trigger.kind == entry.kind for book in self._books):
            return
        with self._idle:
            self._busy += 1
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                if self.dropped > self._dropped_reported:
                    lost, self._dropped_reported = self.dropped - self._dropped_reported, self.dropped
                    self.escalate(
                        "engine",
                        f"{lost} audit events were dropped: the runbook queue was full",
                        evidence={"dropped": lost},
                    )
                for book in self._books:
                    if book.trigger.matches(item):
                        self._run(book, item)
            except Exception:  # one bad run must not end the worker
                _log.exception("runbook run failed on %s", item.kind)
            finally:
                self._done()

    # ------------------------------------------------------------------ a run
    def _append(self, book: str, kind: EntryKind[Any], action: str, outcome: str, evidence: dict[str, Any]) -> None:
        entry = kind.entry(
            actor=f"{ACTOR_PREFIX}{book}",
            action=action,
            subject=f"runbook:{book}",
            outcome=outcome,
            evidence=safe(evidence),
        )
        self._ledger.append(entry)

    def _run(self, book: Runbook, trigger: Entry) -> None:
        variables = variables_for(trigger)
        ref = {
            "kind": trigger.kind,
            "subject": safe(trigger.subject),
            "action": trigger.action,
            "outcome": trigger.outcome,
            "index": index_of(self._ledger, trigger),
        }
        plan = [f"{step.name} {json.dumps(step.params(), sort_keys=True)}" for step in book.actions]
        self._append(
            book.name,
            RUNBOOK_TRIGGER,
            "trigger",
            "matched",
            {"runbook": book.name, "file": Path(book.source).name, "trigger": ref, "plan": plan},
        )
        _, limiter = self._limiters.get(book.name) or (None, None)
        for number, step in enumerate(book.actions):
            base = {"runbook": book.name, "step": number, "action": step.name, "trigger": ref}
            try:
                params = render(step.params(), variables)
            except InputError as exc:
                if not self._failed(book, base, step.name, exc, variables):
                    return
                continue
            request = ActionRequest(book.name, step.name, params, trigger, f"{ACTOR_PREFIX}{book.name}", variables)
            base["target"] = request.target
            if limiter is not None:
                decision = limiter.acquire(request.target)
                if not decision.allowed:
                    self._limited(book, base, decision, variables)
                    return
            started = time.monotonic()
            try:
                detail = self._page(book, request, ref) if step.name == "page" else self._do(request)
            except Exception as exc:
                if not self._failed(book, base, step.name, exc, variables):
                    return
                continue
            self._append(
                book.name,
                RUNBOOK_ACTION,
                step.name,
                "ok",
                {**base, "detail": dict(detail or {}), "duration_s": round(time.monotonic() - started, 3)},
            )

    def _do(self, request: ActionRequest) -> Mapping[str, Any] | None:
        handler = self._handlers.get(request.action)
        if handler is None:
            why = _MISSING.get(request.action)
            raise NotFoundError(
                f"no handler is registered for the '{request.action}' action here" + (f": {why}" if why else ""),
                fix=f"register one with RunbookEngine.register_action('{request.action}', fn), "
                "or use an action the heal layer does itself",
            )
        return handler(request)

    def _failed(
        self, book: Runbook, base: dict[str, Any], action: str, exc: Exception, variables: Mapping[str, Any]
    ) -> bool:
        """Record a failed step and escalate; return whether the run goes on."""
        error: dict[str, Any] = {"type": type(exc).__name__}
        if isinstance(exc, FinpilotError):
            error.update(message=exc.message, fix=exc.fix)
        self._append(book.name, RUNBOOK_ACTION, action, "failed", {**base, "error": error})
        if book.escalate.on_failure:
            reason = f"step {base['step']} ({action}) failed: {error.get('message') or error['type']}"
            self._escalate_book(book, reason, {**base, "error": error}, variables)
        return book.continue_on_failure

    def _limited(
        self, book: Runbook, base: dict[str, Any], decision: RateDecision, variables: Mapping[str, Any]
    ) -> None:
        rl = book.rate_limit
        evidence = {
            **base,
            "reason": decision.reason,
            "count": decision.count,
            "limit": decision.limit,
            "window_s": rl.window_s,
            "cooldown_s": rl.cooldown_s,
            "retry_after_s": decision.retry_after_s,
        }
        self._append(book.name, RUNBOOK_RATE_LIMITED, base["action"], "refused", evidence)
        if decision.first_refusal and book.escalate.on_rate_limit:
            reason = (
                f"rate limit tripped ({decision.reason}: {decision.count} of {decision.limit} actions "
                f"in {rl.window_s:g} s); no more actions for {decision.retry_after_s:g} s"
            )
            self._escalate_book(book, reason, evidence, variables)

    def _escalate_book(
        self, book: Runbook, reason: str, evidence: dict[str, Any], variables: Mapping[str, Any]
    ) -> None:
        # {runbook} and {reason} first, so a '{' inside the reason is never read as a template.
        template = book.escalate.message.replace("{runbook}", "\x00R").replace("{reason}", "\x00E")
        try:
            message = str(render(template, variables)).replace("\x00R", book.name).replace("\x00E", reason)
        except InputError:
            message = f"runbook {book.name} needs a person: {reason}"
        self.escalate(book.name, str(message), severity=book.escalate.severity, evidence=evidence)

    def escalate(
        self, source: str, message: str, *, severity: str = "critical", evidence: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Page a person about ``source`` (a runbook, the backup scheduler ...) and record ``runbook.escalate``."""
        payload = {
            "type": "escalation",
            "source": source,
            "severity": severity,
            "message": safe(message),
            "evidence": safe(dict(evidence or {})),
            "time": utc_now().isoformat(),
        }
        delivery = self._pager.send(payload)
        self._append(
            source,
            RUNBOOK_ESCALATE,
            "page",
            "escalated",
            {**dict(evidence or {}), "source": source, "severity": severity, "message": message, "delivery": delivery},
        )
        return delivery

    def _page(self, book: Runbook, request: ActionRequest, ref: dict[str, Any]) -> Mapping[str, Any]:
        message, severity = str(request.params["message"]), str(request.params.get("severity", "warning"))
        payload = {
            "type": "page",
            "runbook": book.name,
            "severity": severity,
            "message": safe(message),
            "trigger": ref,
            "time": utc_now().isoformat(),
        }
        delivery = self._pager.send(payload)
        outcome = "sent" if delivery["delivered"] else "ledger-only" if delivery["webhook"] is None else "undelivered"
        self._append(
            book.name,
            RUNBOOK_PAGE,
            "page",
            outcome,
            {"runbook": book.name, "message": message, "severity": severity, "trigger": ref, "delivery": delivery},
        )
        if outcome == "undelivered":
            raise CheckFailedError(
                f"the page did not reach {delivery['webhook']} ({delivery.get('status') or delivery.get('error')})",
                fix="check the webhook receiver; the page is in the audit ledger",
            )
        return {"severity": severity, "delivery": delivery}
