"""Labelled payments from a handbook-schema CSV, for ``finpilot traffic run --csv``.

Columns used: ``CUSTOMER_ID``, ``TERMINAL_ID``, ``TX_AMOUNT`` and the label, from
``TX_FRAUD_SCENARIO`` when the file has it (0 to 3, as the generator writes), else from
``TX_FRAUD`` (1 is counted as ``fraud``). Rows are sent in file order; ids become the
generator's small integers in order of first appearance.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from finpilot.core import InputError, NotFoundError
from finpilot.fraud._traffic._synthetic import SCENARIOS, SyntheticPayment

FRAUD_LABEL = 4
"""The scenario number of a fraud whose pattern a CSV without ``TX_FRAUD_SCENARIO`` does not say."""

LABELS: dict[int, str] = {**SCENARIOS, FRAUD_LABEL: "fraud"}
"""Scenario numbers to report names, including the unnamed fraud of a CSV."""


@dataclass(frozen=True)
class LabelledStream:
    """The first rows of a CSV as payments, and how many distinct customers and terminals they use."""

    payments: list[SyntheticPayment]
    customer_ids: list[str]
    """``CUSTOMER_ID`` of each customer index."""
    terminal_ids: list[str]
    """``TERMINAL_ID`` of each terminal index."""


def read_labelled(path: Path, *, limit: int) -> LabelledStream:
    """Read at most ``limit`` rows; :class:`InputError` names the column and line of a bad value."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}", field="--csv", fix="give an existing CSV") from None
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    columns = set(reader.fieldnames or ())
    label = "TX_FRAUD_SCENARIO" if "TX_FRAUD_SCENARIO" in columns else "TX_FRAUD"
    for needed in ("CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", label):
        if needed not in columns:
            raise InputError(f"{path}: no {needed} column", field=needed, fix="use the handbook CSV schema")
    customers: dict[str, int] = {}
    terminals: dict[str, int] = {}
    payments: list[SyntheticPayment] = []
    for i, row in enumerate(itertools.islice(reader, limit)):
        line = i + 2
        try:
            amount = float(row["TX_AMOUNT"])
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount) or not 0 < amount <= 10**10:
            raise InputError(f"{path}, line {line}: bad TX_AMOUNT", field="TX_AMOUNT", fix="a positive amount")
        value = (row[label] or "").strip()
        if value not in {"0", "1", "2", "3"} or (label == "TX_FRAUD" and value not in {"0", "1"}):
            raise InputError(f"{path}, line {line}: bad {label}", field=label, fix="0 or 1 (scenarios: 0 to 3)")
        scenario = int(value) if label == "TX_FRAUD_SCENARIO" else FRAUD_LABEL * int(value)
        customer = customers.setdefault(row["CUSTOMER_ID"], len(customers))
        terminal = terminals.setdefault(row["TERMINAL_ID"], len(terminals))
        payments.append(SyntheticPayment(i, 0, customer, terminal, amount, scenario))
    if not payments:
        raise InputError(f"{path}: no payments", field="--csv", fix="give a CSV with at least one row")
    return LabelledStream(payments, list(customers), list(terminals))
