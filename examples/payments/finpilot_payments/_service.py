"""The payments service as a library: accounts, cards, authorize, capture, refund, transfer.

Every mutating method takes an idempotency key and its request as a plain mapping, runs in
one serialised transaction, and returns an :class:`Outcome` (status and JSON body). Errors
from :mod:`finpilot_payments._errors` leave the database unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from finpilot_payments import _idempotency as idem
from finpilot_payments._card import tokenise
from finpilot_payments._db import Database, Tx
from finpilot_payments._decision import Decision, DecisionClient, PaymentContext
from finpilot_payments._errors import ConflictError, InputError, NotFoundError
from finpilot_payments._idempotency import Outcome
from finpilot_payments._ledger import LedgerReport, add_hold, check_books, ensure_can_pay, load_account, new_id, post

_log = logging.getLogger("finpilot_payments")

_AUTH_COLUMNS = (
    "id, account_id, merchant_id, card_token, card_last4, amount, currency, status, "
    "captured, refunded, flagged, decision"
)


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _authorization_json(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = [c.strip() for c in _AUTH_COLUMNS.split(",")]
    out = dict(zip(keys, row, strict=True))
    out["flagged"] = bool(out["flagged"])
    out["decision"] = json.loads(out["decision"])
    for name in ("amount", "captured", "refunded"):
        out[name] = int(out[name])
    return out


class PaymentsService:
    """Accounts, cards and payments over a :class:`~finpilot_payments.Database`, guarded by a decider."""

    def __init__(self, db: Database, decider: DecisionClient, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.decider = decider
        self._clock = clock
        with db.write() as tx:
            self._secret = idem.load_secret(tx)

    def _now(self) -> str:
        return self._clock().isoformat()

    def _once(
        self,
        key: str,
        operation: str,
        request: Mapping[str, Any],
        work: Callable[[Tx], Outcome],
        *,
        prints: tuple[str, str] | None = None,
    ) -> Outcome:
        """Run ``work`` once per idempotency key, storing its outcome with its effect.

        ``prints`` is the key's digest and the request's fingerprint when the caller has them already.
        """
        if prints is None:
            digest, print_ = idem.key_digest(self._secret, key), idem.fingerprint(self._secret, operation, request)
        else:
            digest, print_ = prints
        with self.db.write() as tx:
            prior = idem.lookup(tx, digest, print_)
            if prior is not None:
                return prior
            outcome = work(tx)
            idem.remember(tx, digest, print_, outcome, self._now())
            return outcome

    # Accounts ---------------------------------------------------------------------------

    def create_account(self, key: str, request: Mapping[str, Any]) -> Outcome:
        """Open an account: ``kind``, ``currency``, ``overdraft_limit``."""

        def work(tx: Tx) -> Outcome:
            account_id = new_id("acct")
            tx.run(
                "INSERT INTO accounts (id, kind, currency, overdraft_limit, frozen, balance, held, created_at) "
                "VALUES (?, ?, ?, ?, 0, 0, 0, ?)",
                (account_id, request["kind"], request["currency"], request["overdraft_limit"], self._now()),
            )
            return Outcome(201, load_account(tx, account_id, field="id").to_json())

        return self._once(key, "create_account", request, work)

    def account(self, account_id: str) -> dict[str, Any]:
        """One account with its balance, holds and available amount."""
        with self.db.read() as tx:
            return load_account(tx, account_id, field="account_id").to_json()

    def set_frozen(self, key: str, account_id: str, *, frozen: bool) -> Outcome:
        """Freeze or unfreeze an account; a frozen account cannot pay."""

        def work(tx: Tx) -> Outcome:
            load_account(tx, account_id, field="account_id")
            tx.run("UPDATE accounts SET frozen = ? WHERE id = ?", (int(frozen), account_id))
            _log.info("account %s %s", account_id, "frozen" if frozen else "unfrozen")
            return Outcome(200, load_account(tx, account_id, field="account_id").to_json())

        return self._once(key, "freeze" if frozen else "unfreeze", {"account_id": account_id}, work)

    # Cards --------------------------------------------------------------------------------

    def add_card(self, key: str, request: Mapping[str, Any]) -> Outcome:
        """Tokenise a card (``account_id``, ``pan``): only the token and last four digits are kept."""
        card = tokenise(request["pan"], field="pan")

        def work(tx: Tx) -> Outcome:
            account = load_account(tx, request["account_id"], field="account_id")
            if account.kind != "customer":
                raise InputError(
                    "'account_id' must name a customer account: cards belong to customers", field="account_id"
                )
            tx.run(
                "INSERT INTO cards (token, account_id, last4, created_at) VALUES (?, ?, ?, ?)",
                (card.token, account.id, card.last4, self._now()),
            )
            _log.info("card ****%s tokenised for account %s", card.last4, account.id)
            return Outcome(201, {"token": card.token, "last4": card.last4, "account_id": account.id})

        return self._once(key, "add_card", request, work)

    # Payments -----------------------------------------------------------------------------

    def _payment_context(
        self, tx: Tx, payment_id: str, request: Mapping[str, Any], *, check_can_pay: bool = True
    ) -> PaymentContext:
        row = tx.one("SELECT account_id, last4 FROM cards WHERE token = ?", (request["card_token"],))
        if row is None:
            raise NotFoundError("no card with the token given in 'card_token'", field="card_token")
        account = load_account(tx, row[0], field="card_token")
        merchant = load_account(tx, request["merchant_id"], field="merchant_id")
        if merchant.kind != "merchant":
            raise InputError("'merchant_id' names an account that is not a merchant account", field="merchant_id")
        if request["currency"] != account.currency or request["currency"] != merchant.currency:
            raise InputError(
                f"'currency' must be the card account's and the merchant's ({account.currency}, {merchant.currency})",
                field="currency",
            )
        if check_can_pay:
            ensure_can_pay(account, request["amount"], field="card_token")
        return PaymentContext(
            payment_id=payment_id,
            account_id=account.id,
            merchant_id=merchant.id,
            card_token=request["card_token"],
            card_last4=row[1],
            amount=request["amount"],
            currency=request["currency"],
            time=self._now(),
        )

    def authorize(self, key: str, request: Mapping[str, Any]) -> Outcome:
        """Hold ``amount`` on the card's account for ``merchant_id``, if the decider allows it."""
        payment_id = new_id("auth")
        print_ = idem.fingerprint(self._secret, "authorize", request)
        digest = idem.key_digest(self._secret, key)
        # One read for the replay check and the context. The decider is asked outside any
        # transaction: a slow decision service never holds the lock.
        with self.db.read() as tx:
            prior = idem.lookup(tx, digest, print_)
            if prior is not None:
                return prior
            context = self._payment_context(tx, payment_id, request)
        decision = self.decider.decide(context)

        def work(tx: Tx) -> Outcome:
            # Re-checked under the write lock. A decline moves no money, so it is recorded even
            # when the decider froze the account meanwhile (an in-process fraud engine does).
            ctx = self._payment_context(tx, payment_id, request, check_can_pay=decision.action != "decline")
            return self._record_authorization(tx, ctx, decision)

        return self._once(key, "authorize", request, work, prints=(digest, print_))

    def _record_authorization(self, tx: Tx, ctx: PaymentContext, decision: Decision) -> Outcome:
        status = "declined" if decision.action == "decline" else "authorized"
        tx.run(
            f"INSERT INTO authorizations ({_AUTH_COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",  # nosec B608  # noqa: S608
            (
                ctx.payment_id,
                ctx.account_id,
                ctx.merchant_id,
                ctx.card_token,
                ctx.card_last4,
                ctx.amount,
                ctx.currency,
                status,
                int(decision.action == "review"),
                json.dumps(decision.to_json()),
                ctx.time,
            ),
        )
        if status == "authorized":
            add_hold(tx, ctx.account_id, ctx.amount)
        elif decision.freeze_account:
            tx.run("UPDATE accounts SET frozen = 1 WHERE id = ?", (ctx.account_id,))
            _log.info("account %s frozen by the decider (authorization %s)", ctx.account_id, ctx.payment_id)
        _log.info("authorization %s %s (card ****%s)", ctx.payment_id, decision.action, ctx.card_last4)
        body = self._load_authorization(tx, ctx.payment_id)
        return Outcome(402 if status == "declined" else 201, body, decision=decision.action)

    def _load_authorization(self, tx: Tx, auth_id: str, *, field: str = "authorization_id") -> dict[str, Any]:
        row = tx.one(f"SELECT {_AUTH_COLUMNS} FROM authorizations WHERE id = ?", (auth_id,))  # nosec B608  # noqa: S608
        if row is None:
            raise NotFoundError("no authorization with that id", field=field)
        return _authorization_json(row)

    def authorization(self, auth_id: str) -> dict[str, Any]:
        """One authorization with its status, captured and refunded amounts and decision."""
        with self.db.read() as tx:
            return self._load_authorization(tx, auth_id)

    def capture(self, key: str, auth_id: str, request: Mapping[str, Any]) -> Outcome:
        """Capture an authorization (``amount`` up to the authorized amount; all of it by default).

        The whole hold is released and the captured amount posted from the customer to the merchant.
        """

        def work(tx: Tx) -> Outcome:
            auth = self._load_authorization(tx, auth_id)
            if auth["status"] != "authorized":
                raise ConflictError(
                    f"authorization {auth_id} is {auth['status']}, not authorized", field="authorization_id"
                )
            amount = auth["amount"] if request.get("amount") is None else request["amount"]
            if amount > auth["amount"]:
                raise InputError(f"'amount' exceeds the authorized {auth['amount']}", field="amount")
            add_hold(tx, auth["account_id"], -auth["amount"])
            now = self._now()
            post(
                tx,
                kind="capture",
                reference=auth_id,
                currency=auth["currency"],
                legs=[(auth["account_id"], -amount), (auth["merchant_id"], amount)],
                now=now,
            )
            tx.run("UPDATE authorizations SET status = 'captured', captured = ? WHERE id = ?", (amount, auth_id))
            return Outcome(200, self._load_authorization(tx, auth_id))

        return self._once(key, "capture", {"authorization_id": auth_id, **request}, work)

    def refund(self, key: str, auth_id: str, request: Mapping[str, Any]) -> Outcome:
        """Refund a captured payment, in part or whole; refunds never exceed what was captured."""

        def work(tx: Tx) -> Outcome:
            auth = self._load_authorization(tx, auth_id)
            if auth["status"] != "captured":
                raise ConflictError(
                    f"authorization {auth_id} is {auth['status']}, not captured", field="authorization_id"
                )
            left = auth["captured"] - auth["refunded"]
            amount = left if request.get("amount") is None else request["amount"]
            if amount > left or amount <= 0:
                raise InputError(f"'amount' exceeds the {left} captured and not yet refunded", field="amount")
            merchant = load_account(tx, auth["merchant_id"], field="authorization_id")
            ensure_can_pay(merchant, amount, field="authorization_id")
            txn = post(
                tx,
                kind="refund",
                reference=auth_id,
                currency=auth["currency"],
                legs=[(merchant.id, -amount), (auth["account_id"], amount)],
                now=self._now(),
            )
            tx.run("UPDATE authorizations SET refunded = refunded + ? WHERE id = ?", (amount, auth_id))
            body = {"id": txn, "amount": amount, "authorization": self._load_authorization(tx, auth_id)}
            return Outcome(201, body)

        return self._once(key, "refund", {"authorization_id": auth_id, **request}, work)

    def transfer(self, key: str, request: Mapping[str, Any]) -> Outcome:
        """Move ``amount`` from ``from_account`` to ``to_account`` (same currency)."""

        def work(tx: Tx) -> Outcome:
            source = load_account(tx, request["from_account"], field="from_account")
            target = load_account(tx, request["to_account"], field="to_account")
            if source.id == target.id:
                raise InputError("'to_account' must differ from 'from_account'", field="to_account")
            for acct, name in ((source, "from_account"), (target, "to_account")):
                if acct.currency != request["currency"]:
                    raise InputError(
                        f"'currency' differs from the currency of '{name}' ({acct.currency})", field="currency"
                    )
            ensure_can_pay(source, request["amount"], field="from_account")
            txn = post(
                tx,
                kind="transfer",
                reference=None,
                currency=request["currency"],
                legs=[(source.id, -request["amount"]), (target.id, request["amount"])],
                now=self._now(),
            )
            return Outcome(201, {"id": txn, **dict(request)})

        return self._once(key, "transfer", request, work)

    def check_books(self) -> LedgerReport:
        """Recompute every double-entry invariant from the postings."""
        with self.db.read() as tx:
            return check_books(tx)
