"""The fraud service: score a payment, decide by policy, and record the decision in the audit ledger.

Every decision is one ``fraud.decision`` entry. The ledger group-commits, so decisions made
at the same moment on several threads share one transaction. Freezing and unfreezing an
account are ``fraud.account`` entries of their own, and late labels ``fraud.label`` entries.
Evidence holds the customer and terminal ids as given and never a card number: an id that
looks like one is refused before anything changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple, Protocol, cast

import orjson

from finpilot.audit import Entry, Ledger, contains_pan
from finpilot.audit.kinds import FRAUD_ACCOUNT, FRAUD_DECISION, FRAUD_LABEL
from finpilot.core import FraudSettings, InputError, NotFoundError, SensitiveDataError
from finpilot.fraud._features._engine import FeatureEngine
from finpilot.fraud._models._artifact import ModelArtifact, load_artifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._policy import AccountState, DecisionPolicy, FraudAction, FraudDecision, Thresholds
from finpilot.fraud._scorer import Score, Scorer
from finpilot.fraud._serving._wire import check_amount, check_id, check_source

_log = logging.getLogger("finpilot.fraud")
_TOLD_ACCOUNTS = 16_384  # account-change indexes kept to tell each change once (FraudService._first_telling)

ACTOR = "fraud-engine"
"""Who the ledger says decided."""


class DecisionObserver(Protocol):
    """Something that watches the service's decisions and labels: drift monitors, live stats, alerts.

    Observers are called after the entry is in the ledger, on the caller's thread and outside the
    service's lock, so they must be quick and thread-safe. An observer that raises is logged and
    skipped: watching must never change or block a decision.
    """

    def on_decision(self, payment: Payment, verdict: Score, decision: FraudDecision, audit_index: int) -> None:
        """A payment was scored and decided.

        ``verdict.features`` holds its feature vector, or is empty for a decision another process
        made that the console's mirror read back from the ledger (which holds no feature vector).
        """
        ...

    def on_label(self, payment: Payment, fraud: bool, source: str, audit_index: int) -> None:
        """A late label arrived for a payment this service scored."""
        ...

    def on_account(self, customer_id: str, action: str, reason: str, audit_index: int) -> None:
        """An account was frozen (``action == "freeze"``) or unfrozen."""
        ...


class FraudService:
    """Scorer + policy + ledger; thread-safe (one lock around the feature engine and account state).

    The last ``remember`` payments are kept so that a late label can find its payment and a
    repeated call with the same payment gets the same decision instead of counting twice.
    """

    def __init__(self, scorer: Scorer, policy: DecisionPolicy, ledger: Ledger, *, remember: int = 1_000_000) -> None:
        if remember < 1:
            raise InputError("remember must be at least 1", field="remember")
        self.scorer = scorer
        self.policy = policy
        self.ledger = ledger
        self._remember = remember
        self._lock = threading.Lock()
        self._frozen: set[str] = set()
        # tx -> (the payment as given, the time it was scored at). Up to a million of these live
        # for hours: plain tuples of str, int and float, which the garbage collector stops
        # tracking, so full collections stay short (dataclass instances would all be scanned).
        self._seen: OrderedDict[str, tuple[_PaymentRow, int]] = OrderedDict()
        self._latest = 0
        self._decided: dict[str, _DecisionRow] = {}
        # tx -> ledger index of decisions made before a restart (load_state), read on demand.
        self._recalled: dict[str, int] = {}
        self._observers: list[DecisionObserver] = []
        # Ledger indexes of the account changes told lately. A freeze this process made is told
        # in-process and read again by its ledger mirror, in either order: the first one tells it.
        self._told_accounts: OrderedDict[int, None] = OrderedDict()
        self._told_lock = threading.Lock()

    def add_observer(self, observer: DecisionObserver) -> None:
        """Call ``observer`` after every decision, label and account change from now on."""
        self._observers.append(observer)

    def _notify(self, method: str, *args: Any) -> None:
        if method == "on_account" and not self._first_telling(int(args[3])):
            return
        for observer in self._observers:
            try:
                getattr(observer, method)(*args)
            except Exception:  # an observer's bug must not fail the payment
                _log.exception("fraud observer %s failed in %s", type(observer).__name__, method)

    def _first_telling(self, audit_index: int) -> bool:
        with self._told_lock:
            if audit_index in self._told_accounts:
                return False
            self._told_accounts[audit_index] = None
            # Both tellings come within one tail round of each other; this many account changes
            # in between is far past any policy's rate, and each index costs about 100 bytes.
            if len(self._told_accounts) > _TOLD_ACCOUNTS:
                self._told_accounts.popitem(last=False)
            return True

    @classmethod
    def from_settings(cls, settings: FraudSettings, ledger: Ledger) -> FraudService:
        """Load ``settings.model_dir`` (hash checked) with a fresh feature engine and the configured thresholds."""
        if settings.model_dir is None:
            raise NotFoundError(
                "no fraud model configured", field="fraud.model_dir", fix="train one with `finpilot fraud train`"
            )
        thresholds = Thresholds(settings.review_threshold, settings.decline_threshold, settings.freeze_threshold)
        scorer = Scorer(FeatureEngine(), load_artifact(settings.model_dir))
        return cls(scorer, DecisionPolicy(thresholds), ledger)

    @property
    def model_version(self) -> str:
        """The loaded model's version."""
        return self.scorer.artifact.version

    def use_model(self, artifact: ModelArtifact) -> str:
        """Score with ``artifact`` from the next payment on (same feature state and rules); the old version.

        The swap happens under the service's lock, so no payment is scored half by one model.
        Audit the change first (the model registry's ``promote`` or ``rollback`` entry).
        """
        with self._lock:
            old = self.scorer
            self.scorer = Scorer(old.engine, artifact, old.rules)
        return old.artifact.version

    def is_frozen(self, customer_id: str) -> bool:
        """Whether the account is frozen."""
        with self._lock:
            return customer_id in self._frozen

    def checkpoint_state(self) -> tuple[bytes, frozenset[str]]:
        """The feature engine's snapshot and the frozen accounts, taken together under the lock."""
        with self._lock:
            return self.scorer.engine.snapshot(), frozenset(self._frozen)

    def restore_state(self, snapshot: bytes | None, frozen: frozenset[str]) -> None:
        """Start from a saved feature snapshot (``None`` keeps the current engine) and frozen set.

        Meant for start-up, before the first payment; see :mod:`finpilot.fraud._serving._persist`.
        """
        engine = None if snapshot is None else FeatureEngine.restore(snapshot)
        with self._lock:
            if engine is not None:
                self.scorer.engine = engine
                self._latest = max(self._latest, engine.now)
            self._frozen = set(frozen)

    def score(
        self, payment: Payment, *, actor: str = ACTOR, caller: Mapping[str, str | None] | None = None
    ) -> tuple[FraudDecision, int]:
        """Score, decide and record one payment; the decision and its audit index.

        ``actor`` is who asked (an API token's actor when the console scores); ``caller`` goes
        into the evidence as ``caller`` (token id, client, request), so that the decision entry
        alone records an API call. A decision to freeze also freezes the account (a
        ``fraud.account`` entry of its own). A repeated call with the same payment returns the
        first decision and writes nothing.
        """
        decision, index, _recorded = self.score_recorded(payment, actor=actor, caller=caller)
        return decision, index

    def score_recorded(
        self, payment: Payment, *, actor: str = ACTOR, caller: Mapping[str, str | None] | None = None
    ) -> tuple[FraudDecision, int, bool]:
        """:meth:`score`, plus whether this call wrote the decision entry (``False`` for a repeat)."""
        step = self._decide(payment, actor, caller)
        if not isinstance(step, _Pending):
            return step
        _fault("before-append")
        index = self.ledger.append(step.entry)
        _fault("after-append")
        freeze = self._decided_at(step, index)
        if freeze is not None:
            self.freeze_account(step.payment.customer, reason=freeze)
        return step.decision, index, True

    async def score_async(
        self, payment: Payment, *, actor: str = ACTOR, caller: Mapping[str, str | None] | None = None
    ) -> tuple[FraudDecision, int, bool]:
        """:meth:`score_recorded` for an event loop: answers only once the decision entry is durable.

        Features, score and decision are computed at once under the lock (CPU only, no I/O);
        the entry then joins the ledger's group commit through :meth:`Ledger.append_async`, so
        the waiting holds no thread. A freezing decision's ``fraud.account`` entry is awaited
        the same way before the answer. Returns ``(decision, audit_index, recorded)``.

        Cancelling the caller (a timeout, a shutdown) does not cancel the recording: once the
        payment is decided, its entry, the remembered decision and any freeze are completed, so
        a repeat of the payment gets the recorded answer rather than "being decided".
        """
        step = self._decide(payment, actor, caller)
        if not isinstance(step, _Pending):
            return step
        index = await asyncio.shield(self._record(step))
        return step.decision, index, True

    async def _record(self, step: _Pending) -> int:
        _fault("before-append")
        index = await self.ledger.append_async(step.entry)
        _fault("after-append")
        freeze = self._decided_at(step, index)
        if freeze is not None:
            customer = step.payment.customer
            entry = self._account_entry(customer, "freeze", ACTOR, freeze)
            self._frozen_at(customer, freeze, await self.ledger.append_async(entry))
        return index

    def _decide(
        self, payment: Payment, actor: str, caller: Mapping[str, str | None] | None
    ) -> _Pending | tuple[FraudDecision, int, bool]:
        """Score and decide under the lock: the entry to append, or a repeat's recorded answer."""
        payment = _checked(payment)
        actor = check_id(actor, "actor")
        row = _payment_row(payment)
        if self._recalled:
            self._recall(payment.tx_id)
        with self._lock:
            known = self._seen.get(payment.tx_id)
            if known is not None:
                done = self._decided.get(payment.tx_id)
                same = known[0] == row
                if same and done is not None:
                    return decision_of(done), done[-1], False
                raise InputError(
                    f"transaction {payment.tx_id} was already scored"
                    + (" and is being decided" if same else " with other data"),
                    field="transaction_id",
                    fix="give every payment its own transaction_id",
                )
            # Live payments arrive slightly out of order (threads, clocks); the windows only move
            # forward, so a late one is counted at the newest time seen.
            used = payment if payment.time >= self._latest else replace(payment, time=self._latest)
            verdict = self.scorer.score_one(used)
            self._latest = used.time
            account = AccountState(frozen=payment.customer in self._frozen)
            self._seen[payment.tx_id] = (row, used.time)
            if len(self._seen) > self._remember:
                old, _ = self._seen.popitem(last=False)
                self._decided.pop(old, None)
        decision = self.policy.decide(verdict.score, verdict.reasons, account, model_version=verdict.model_version)
        evidence: dict[str, Any] = {
            "score": decision.score,
            "model_score": round(verdict.model_score, 6),
            "reasons": list(decision.reasons),
            "model_version": decision.model_version,
            "policy_id": decision.policy_id,
            "customer_id": payment.customer,
            "terminal_id": payment.terminal,
            "amount": payment.amount,
            "time": payment.time,
        }
        if caller is not None:
            evidence["caller"] = dict(caller)
        entry = FRAUD_DECISION.entry(
            actor=actor,
            action=decision.action,
            subject=f"payment:{payment.tx_id}",
            outcome=decision.action,
            evidence=evidence,
        )
        return _Pending(payment, verdict, decision, entry)

    def _decided_at(self, step: _Pending, index: int) -> str | None:
        """Remember a durable decision and tell the observers; the freeze reason when it freezes."""
        decision, payment = step.decision, step.payment
        with self._lock:
            if payment.tx_id in self._seen:
                self._decided[payment.tx_id] = (
                    decision.action,
                    decision.score,
                    tuple(decision.reasons),
                    decision.model_version,
                    decision.policy_id,
                    index,
                )
        self._notify("on_decision", payment, step.verdict, decision, index)
        if decision.action == "freeze_account":
            return f"decision on payment:{payment.tx_id}"
        return None

    def recall_decisions(self, index_by_tx: Mapping[str, int]) -> int:
        """Remember where the ledger holds earlier decisions, so a repeated payment gets its recorded answer.

        ``index_by_tx`` maps a transaction id to the index of its ``fraud.decision`` entry (see
        :func:`finpilot.fraud._serving._persist.load_state`). Only the index is kept: the entry
        is read and parsed when the transaction comes back (a repeat or a late label), so that
        start-up does not parse a hundred thousand entries to answer the few that return.
        The number of decisions now remembered this way.
        """
        with self._lock:
            for tx_id, index in index_by_tx.items():
                if tx_id not in self._seen:
                    self._recalled[tx_id] = index
            return len(self._recalled)

    def _recall(self, tx_id: str) -> None:
        """Bring a decision the ledger holds back into memory before ``tx_id`` is looked up."""
        index = self._recalled.get(tx_id)
        if index is None:
            return
        rows = _decision_from_leaf(index, self.ledger.entry(index).data)
        with self._lock:
            if self._recalled.pop(tx_id, None) is None or tx_id in self._seen or rows is None:
                return
            self._seen[tx_id] = (rows[0], rows[0][1])
            self._decided[tx_id] = rows[1]
            if len(self._seen) > self._remember:
                old, _ = self._seen.popitem(last=False)
                self._decided.pop(old, None)

    def _remember_decided(self, payment: Payment, used_time: int, row: _DecisionRow) -> None:
        # Called with the lock held, by the ledger tail of an HTTP partition (_partition.py): a
        # payment decided by an earlier life of this scorer, or elsewhere (the console's mirror).
        self._seen[payment.tx_id] = (_payment_row(payment), used_time)
        self._decided[payment.tx_id] = row
        while len(self._seen) > self._remember:
            old, _ = self._seen.popitem(last=False)
            self._decided.pop(old, None)

    def _account_entry(self, customer_id: str, action: str, actor: str, reason: str) -> Entry:
        return FRAUD_ACCOUNT.entry(
            actor=actor,
            action=action,
            subject=f"account:{customer_id}",
            outcome="ok",
            evidence={"customer_id": customer_id, "reason": reason},
        )

    def freeze_account(self, customer_id: str, *, actor: str = ACTOR, reason: str = "") -> int:
        """Freeze an account: its next payments are declined. Audited on its own; the entry's index."""
        customer_id = check_id(customer_id, "customer_id")
        _refuse_pan("customer_id", customer_id, "frozen")
        entry = self._account_entry(customer_id, "freeze", check_id(actor, "actor"), reason)
        index = self.ledger.append(entry)
        self._frozen_at(customer_id, reason, index)
        return index

    def _frozen_at(self, customer_id: str, reason: str, index: int) -> None:
        with self._lock:
            self._frozen.add(customer_id)
        self._notify("on_account", customer_id, "freeze", reason, index)

    def unfreeze_account(self, customer_id: str, *, actor: str = ACTOR, reason: str = "") -> int:
        """Lift a freeze. Audited on its own; the entry's index."""
        customer_id = check_id(customer_id, "customer_id")
        _refuse_pan("customer_id", customer_id, "unfrozen")
        entry = self._account_entry(customer_id, "unfreeze", check_id(actor, "actor"), reason)
        index = self.ledger.append(entry)
        with self._lock:
            self._frozen.discard(customer_id)
        self._notify("on_account", customer_id, "unfreeze", reason, index)
        return index

    def label(self, tx_id: str, fraud: bool, source: str, known_at: int | None = None, *, actor: str = ACTOR) -> int:
        """Record a late label (chargeback or analyst verdict) and queue it for the features; its audit index.

        ``known_at`` (epoch seconds) is when the label becomes usable to the terminal-risk
        features; by default the payment time plus the label delay.
        """
        tx_id = check_id(tx_id, "transaction_id")
        if not isinstance(fraud, bool):
            raise InputError("'fraud' must be true or false", field="fraud")
        checked_source = check_source(source)
        if known_at is not None and (isinstance(known_at, bool) or not isinstance(known_at, int)):
            raise InputError("'known_at' must be epoch seconds", field="known_at")
        if self._recalled:
            self._recall(tx_id)
        with self._lock:
            known = self._seen.get(tx_id)
        if known is None:
            raise NotFoundError(
                f"transaction {tx_id} was not scored by this service (or is too old to remember)",
                field="transaction_id",
            )
        payment = Payment(*known[0])
        used = replace(payment, time=known[1])
        if known_at is not None and known_at < payment.time:
            raise InputError("'known_at' is before the payment itself", field="known_at")
        evidence: dict[str, Any] = {
            "fraud": fraud,
            "source": checked_source,
            "known_at": known_at,
            # The time the payment was counted at: a scorer that replays the label needs its day.
            "time": used.time,
            "customer_id": payment.customer,
            "terminal_id": payment.terminal,
        }
        entry = FRAUD_LABEL.entry(
            actor=check_id(actor, "actor"),
            action=checked_source,
            subject=f"payment:{tx_id}",
            outcome="fraud" if fraud else "legitimate",
            evidence=evidence,
        )
        index = self.ledger.append(entry)
        with self._lock:
            self.scorer.engine.observe_label(used, fraud, known_at=known_at)
        self._notify("on_label", payment, fraud, checked_source, index)
        return index


_PaymentRow = tuple[str, int, str, str, float]
"""A payment as given: transaction id, time, customer, terminal, amount."""
_DecisionRow = tuple[str, float, tuple[str, ...], str, str, int]
"""A decision as remembered: FraudDecision's fields, then the audit index."""


class _Pending(NamedTuple):
    """A decision made under the lock whose entry is not yet durable."""

    payment: Payment
    verdict: Score
    decision: FraudDecision
    entry: Entry


# Test-only fault injection for the kill -9 tests: FINPILOT_TEST_FAULT=before-append or
# after-append SIGKILLs the process at that point of a scoring call. Read once at import; unset
# (as in production) it costs one comparison with an empty string per call.
_FAULT_AT = os.environ.get("FINPILOT_TEST_FAULT", "")


def _fault(point: str) -> None:
    if _FAULT_AT and point == _FAULT_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def _payment_row(payment: Payment) -> _PaymentRow:
    return (payment.tx_id, payment.time, payment.customer, payment.terminal, payment.amount)


def decision_rows(index: int, fields: Mapping[str, Any]) -> tuple[_PaymentRow, _DecisionRow]:
    """A ``fraud.decision`` entry's fields as remembered rows (KeyError, TypeError or ValueError if malformed).

    The one reader of the evidence this service writes: the restart lookup, the partitions' tail
    and the stats' history all go through it.
    """
    ev = fields["evidence"]
    payment: _PaymentRow = (
        str(fields["subject"]).removeprefix("payment:"),
        int(ev["time"]),
        str(ev["customer_id"]),
        str(ev["terminal_id"]),
        float(ev["amount"]),
    )
    done: _DecisionRow = (
        str(fields["action"]),
        float(ev["score"]),
        tuple(str(r) for r in ev["reasons"]),
        str(ev["model_version"]),
        str(ev["policy_id"]),
        index,
    )
    return payment, done


def _decision_from_leaf(index: int, data: bytes) -> tuple[_PaymentRow, _DecisionRow] | None:
    """A ``fraud.decision`` leaf as remembered rows; ``None`` for a leaf this version cannot answer from."""
    try:
        fields = orjson.loads(data)
        if fields["kind"] != FRAUD_DECISION.name:
            return None
        return decision_rows(index, fields)
    except (KeyError, TypeError, ValueError):
        return None


def decision_of(row: _DecisionRow) -> FraudDecision:
    """The decision a remembered row holds."""
    action, score, reasons, model_version, policy_id, _index = row
    return FraudDecision(cast(FraudAction, action), score, reasons, model_version, policy_id)


def _checked(payment: Payment) -> Payment:
    if not isinstance(payment, Payment):
        raise InputError("expected a Payment", field="payment")
    check_id(payment.tx_id, "transaction_id")
    check_id(payment.customer, "customer_id")
    check_id(payment.terminal, "terminal_id")
    check_amount(payment.amount)
    if isinstance(payment.time, bool) or not isinstance(payment.time, int) or payment.time < 0:
        raise InputError("'time' must be epoch seconds", field="time")
    # The ledger would refuse the decision entry; refuse the payment before any state changes.
    _refuse_pan("transaction_id", payment.tx_id, "scored")
    _refuse_pan("customer_id", payment.customer, "scored")
    _refuse_pan("terminal_id", payment.terminal, "scored")
    return payment


_PAN_MIN = 13


def _refuse_pan(name: str, value: str, done: str) -> None:
    # The ledger refuses the entry too, but naming its own field ('subject'): name the caller's.
    # A card number has at least 13 digits, each one character however it is written: a shorter
    # id (most are) cannot hold one, and skips the scan on the scoring path.
    # (A str is scanned as text: a dot is a separator, never a decimal point.)
    if len(value) >= _PAN_MIN and contains_pan(value):
        raise SensitiveDataError(
            f"'{name}' looks like a full card number; it was not {done}",
            field=name,
            fix="send the card's token or a pseudonymous customer id, never the PAN",
        )
