"""Read a payment stream in the handbook's CSV schema (plain or gzip).

Columns used: ``TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT, TX_FRAUD``.
Any other column is ignored; ``TX_FRAUD_SCENARIO`` in particular is never read. Times are
UTC (``YYYY-MM-DD HH:MM:SS`` or any ISO 8601 form). Rows come back sorted by time (stable).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from finpilot.core import InputError, NotFoundError

COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD")
"""The columns a payment CSV must have."""


@dataclass(frozen=True)
class PaymentTable:
    """A payment stream in time order, column by column."""

    tx_ids: list[str]
    times: npt.NDArray[np.int64]
    customers: list[str]
    terminals: list[str]
    amounts: npt.NDArray[np.float64]
    frauds: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.tx_ids)


def _parse_time(text: str, day_cache: dict[str, int]) -> int:
    if len(text) == 19 and text[10] in " T" and text[13] == ":" and text[16] == ":":
        day = day_cache.get(text[:10])
        if day is None:
            d = dt.date.fromisoformat(text[:10])
            day = day_cache[text[:10]] = (d - dt.date(1970, 1, 1)).days * 86_400
        return day + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def read_payments(path: Path) -> PaymentTable:
    """Read and validate a payment CSV; InputError names the column and line of the first bad value."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"no such file: {path}", field="csv") from exc
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path} is empty", field="csv", fix=f"give a CSV with the columns {', '.join(COLUMNS)}")
    names = [name.strip() for name in header]
    for column in COLUMNS:
        if column not in names:
            raise InputError(
                f"{path}: missing column {column}", field=column, fix=f"the CSV needs the columns {', '.join(COLUMNS)}"
            )
    i_id, i_time, i_cust, i_term, i_amt, i_fraud = (names.index(c) for c in COLUMNS)
    width = max(i_id, i_time, i_cust, i_term, i_amt, i_fraud) + 1
    tx_ids: list[str] = []
    times: list[int] = []
    customers: list[str] = []
    terminals: list[str] = []
    amounts: list[float] = []
    frauds: list[int] = []
    day_cache: dict[str, int] = {}
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        if len(row) < width:
            raise InputError(f"{path} line {line}: {len(row)} fields, expected {len(names)}", field="row")
        column = "TX_DATETIME"
        try:
            times.append(_parse_time(row[i_time], day_cache))
            column = "TX_AMOUNT"
            amount = float(row[i_amt])
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"amount must be a finite number >= 0, not {row[i_amt]!r}")
            column = "TX_FRAUD"
            fraud = row[i_fraud].strip()
            if fraud not in {"0", "1"}:
                raise ValueError(f"TX_FRAUD must be 0 or 1, not {fraud!r}")
        except ValueError as exc:
            raise InputError(f"{path} line {line}: bad {column}: {exc}", field=column) from exc
        amounts.append(amount)
        frauds.append(fraud == "1")
        tx_ids.append(row[i_id])
        customers.append(row[i_cust])
        terminals.append(row[i_term])
    time_arr = np.asarray(times, dtype=np.int64)
    order = np.argsort(time_arr, kind="stable")
    if np.all(order[:-1] < order[1:]):
        return PaymentTable(tx_ids, time_arr, customers, terminals, np.asarray(amounts), np.asarray(frauds, np.int8))
    idx = order.tolist()
    return PaymentTable(
        [tx_ids[i] for i in idx],
        time_arr[order],
        [customers[i] for i in idx],
        [terminals[i] for i in idx],
        np.asarray(amounts)[order],
        np.asarray(frauds, np.int8)[order],
    )
