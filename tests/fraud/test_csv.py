"""Reading payment CSVs: schema checks name the column and line; gzip; time order."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from finpilot.core import InputError, NotFoundError
from finpilot.fraud import read_payments

HEADER = "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD"


def write(tmp_path: Path, *lines: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_sorts_and_ignores_other_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "TX_FRAUD_SCENARIO," + HEADER + ",EXTRA",
        "3,b,2018-04-01 00:00:09,7,12,5.5,1,x",
        "0,a,2018-04-01T00:00:01,8,13,1.25,0,y",
    )
    table = read_payments(path)
    assert table.tx_ids == ["a", "b"]
    assert table.times.tolist() == [1_522_540_801, 1_522_540_809]
    assert table.customers == ["8", "7"]
    assert table.amounts.tolist() == [1.25, 5.5]
    assert table.frauds.tolist() == [0, 1]


def test_gzip_reads_the_same(tmp_path: Path, stream_csv: Path) -> None:
    packed = tmp_path / "s.csv.gz"
    packed.write_bytes(gzip.compress(stream_csv.read_bytes()))
    a, b = read_payments(stream_csv), read_payments(packed)
    assert a.tx_ids == b.tx_ids
    np.testing.assert_array_equal(a.amounts, b.amounts)


@pytest.mark.parametrize("column", ["TX_DATETIME", "CUSTOMER_ID", "TX_FRAUD", "TX_AMOUNT"])
def test_a_missing_column_is_named(tmp_path: Path, column: str) -> None:
    header = ",".join(c for c in HEADER.split(",") if c != column)
    with pytest.raises(InputError) as info:
        read_payments(write(tmp_path, header, "1,2,3,4,5"))
    assert info.value.field == column
    assert column in info.value.message


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("x,2018-13-01 00:00:00,1,2,3.0,0", "TX_DATETIME"),
        ("x,2018-04-01 00:00:00,1,2,abc,0", "TX_AMOUNT"),
        ("x,2018-04-01 00:00:00,1,2,-3,0", "TX_AMOUNT"),
        ("x,2018-04-01 00:00:00,1,2,nan,0", "TX_AMOUNT"),
        ("x,2018-04-01 00:00:00,1,2,3.0,2", "TX_FRAUD"),
    ],
)
def test_a_bad_value_names_column_and_line(tmp_path: Path, row: str, column: str) -> None:
    path = write(tmp_path, HEADER, "ok,2018-04-01 00:00:00,1,2,3.0,0", row)
    with pytest.raises(InputError) as info:
        read_payments(path)
    assert info.value.field == column
    assert "line 3" in info.value.message


def test_short_row_and_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 2"):
        read_payments(write(tmp_path, HEADER, "1,2018-04-01 00:00:00,3"))
    with pytest.raises(InputError):
        read_payments(write(tmp_path, name="empty.csv"))
    with pytest.raises(NotFoundError):
        read_payments(tmp_path / "nope.csv")
