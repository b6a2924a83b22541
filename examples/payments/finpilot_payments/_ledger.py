"""Double-entry postings and account rows.

Every transaction is a set of postings whose signed amounts sum to zero: a negative amount
debits an account (money leaves it), a positive one credits it. Each account's ``balance``
column is the running sum of its postings, updated in the same transaction. The settlement
(issuer) account is where money enters and leaves the books, so the sum over all accounts is
always zero. Amounts are integers in minor units; floats never appear.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from finpilot_payments._db import Tx
from finpilot_payments._errors import AccountFrozenError, InsufficientFundsError, NotFoundError

KINDS = ("customer", "merchant", "settlement")
"""Account kinds. A settlement account has no overdraft limit: it is the books' source and sink."""

MAX_AMOUNT = 10**12 - 1
"""The largest amount one operation may move, in minor units: the one cap every request model checks.

Below 10^12, so that even in a currency without a minor unit (JPY) the amount in major units is
below the 10^12 that finpilot's fraud API (the HTTP decider's peer) accepts; a test there holds
the two caps together, as this service may not import finpilot.
"""


_DIGIT_RUN = re.compile(r"[0-9]{12,}")


def new_id(prefix: str) -> str:
    """A fresh random id such as ``acct_3f2a…``.

    An id with a long run of digits could pass for a card number (about 1 in 1,000 random hex
    ids holds 13 digits in a row that pass the Luhn check), and PAN scanners downstream, such as
    finpilot's audit ledger, rightly refuse those; so such an id is drawn again.
    """
    while True:
        candidate = uuid.uuid4().hex
        if not _DIGIT_RUN.search(candidate):
            return f"{prefix}_{candidate}"


@dataclass(frozen=True)
class Account:
    """One account row."""

    id: str
    kind: str
    currency: str
    overdraft_limit: int
    frozen: bool
    balance: int
    held: int

    @property
    def available(self) -> int:
        """What it can still pay: balance, less holds, plus its overdraft limit."""
        return self.balance - self.held + self.overdraft_limit

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "currency": self.currency,
            "overdraft_limit": self.overdraft_limit,
            "frozen": self.frozen,
            "balance": self.balance,
            "held": self.held,
            "available": None if self.kind == "settlement" else self.available,
        }


def load_account(tx: Tx, account_id: str, *, field: str) -> Account:
    """The account, or :class:`NotFoundError` naming ``field``."""
    row = tx.one(
        "SELECT id, kind, currency, overdraft_limit, frozen, balance, held FROM accounts WHERE id = ?", (account_id,)
    )
    if row is None:
        raise NotFoundError(f"no account with the id given in '{field}'", field=field, fix="create the account first")
    return Account(row[0], row[1], row[2], int(row[3]), bool(row[4]), int(row[5]), int(row[6]))


def ensure_can_pay(account: Account, amount: int, *, field: str) -> None:
    """Refuse a payment out of a frozen account, or one that would overdraw it beyond its limit."""
    if account.frozen:
        raise AccountFrozenError(
            f"account {account.id} is frozen and cannot pay", field=field, fix="unfreeze the account first"
        )
    if account.kind != "settlement" and amount > account.available:
        raise InsufficientFundsError(
            f"account {account.id} has {account.available} available, less than {amount}",
            field="amount",
            fix="fund the account or raise its overdraft limit",
        )


def add_hold(tx: Tx, account_id: str, amount: int) -> None:
    """Reserve (positive) or release (negative) ``amount`` on an account."""
    tx.run("UPDATE accounts SET held = held + ? WHERE id = ?", (amount, account_id))


def post(tx: Tx, *, kind: str, reference: str | None, currency: str, legs: Sequence[tuple[str, int]], now: str) -> str:
    """Write one balanced transaction and update the balances; returns its id."""
    if sum(amount for _account, amount in legs) != 0 or len(legs) < 2:
        raise RuntimeError(f"refusing an unbalanced {kind} transaction")  # a bug, never a user error
    txn_id = new_id("txn")
    tx.run(
        "INSERT INTO transactions (id, kind, reference, created_at) VALUES (?, ?, ?, ?)", (txn_id, kind, reference, now)
    )
    for seq, (account_id, amount) in enumerate(legs):
        tx.run(
            "INSERT INTO postings (txn_id, seq, account_id, amount, currency) VALUES (?, ?, ?, ?, ?)",
            (txn_id, seq, account_id, amount, currency),
        )
        tx.run("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account_id))
    return txn_id


@dataclass(frozen=True)
class LedgerReport:
    """The books checked: every transaction balances, balances match postings, the total is zero."""

    transactions: int
    postings: int
    totals: dict[str, int]
    problems: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "balanced": self.balanced,
            "transactions": self.transactions,
            "postings": self.postings,
            "totals": self.totals,
            "problems": list(self.problems),
        }


def check_books(tx: Tx) -> LedgerReport:
    """Recompute the invariants of double entry from the postings."""
    problems: list[str] = []
    unbalanced = tx.all("SELECT txn_id, SUM(amount) FROM postings GROUP BY txn_id HAVING SUM(amount) <> 0")
    problems += [f"transaction {txn} sums to {total}" for txn, total in unbalanced]
    mixed = tx.all("SELECT txn_id FROM postings GROUP BY txn_id HAVING COUNT(DISTINCT currency) > 1")
    problems += [f"transaction {txn} mixes currencies" for (txn,) in mixed]
    drift = tx.all(
        "SELECT a.id, a.balance, COALESCE(SUM(p.amount), 0) FROM accounts a "
        "LEFT JOIN postings p ON p.account_id = a.id "
        "GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0)"
    )
    problems += [f"account {acct} shows {bal} but its postings sum to {total}" for acct, bal, total in drift]
    holds = tx.all(
        "SELECT a.id, a.held, COALESCE(SUM(z.amount), 0) FROM accounts a "
        "LEFT JOIN authorizations z ON z.account_id = a.id AND z.status = 'authorized' "
        "GROUP BY a.id, a.held HAVING a.held <> COALESCE(SUM(z.amount), 0)"
    )
    problems += [
        f"account {acct} holds {held} but its open authorizations total {total}" for acct, held, total in holds
    ]
    totals = {
        str(cur): int(total) for cur, total in tx.all("SELECT currency, SUM(balance) FROM accounts GROUP BY currency")
    }
    problems += [f"the {cur} accounts sum to {total}, not 0" for cur, total in totals.items() if total != 0]
    negative_holds = tx.all("SELECT id FROM accounts WHERE held < 0")
    problems += [f"account {acct} has a negative hold" for (acct,) in negative_holds]
    overdrawn = tx.all("SELECT id FROM accounts WHERE kind <> 'settlement' AND balance - held + overdraft_limit < 0")
    problems += [f"account {acct} is overdrawn beyond its limit" for (acct,) in overdrawn]
    (n_txn,) = tx.one("SELECT COUNT(*) FROM transactions") or (0,)
    (n_post,) = tx.one("SELECT COUNT(*) FROM postings") or (0,)
    return LedgerReport(int(n_txn), int(n_post), totals, tuple(problems))
