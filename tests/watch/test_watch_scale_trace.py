"""Loading a load trace: rescaling, interpolation between interval middles, gaps and bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from finpilot.watch import CapacityModel, TraceError, load_trace

MODEL = CapacityModel()


def write(path: Path, rows: list[tuple[str, float | str]]) -> Path:
    path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in rows))
    return path


def five_minutes(values: list[float], skip: frozenset[int] = frozenset()) -> list[tuple[str, float]]:
    rows = []
    for i, v in enumerate(values):
        if i in skip:
            continue
        minute = 5 * i
        rows.append((f"2014-04-10 {minute // 60:02d}:{minute % 60:02d}:00", v))
    return rows


def test_values_stand_at_interval_middles_and_the_peak_needs_twenty_replicas(tmp_path: Path) -> None:
    trace = load_trace(write(tmp_path / "t.csv", five_minutes([10.0, 30.0, 20.0])), MODEL)
    assert trace.interval_s == 300
    assert trace.scale == pytest.approx(200 / 30)
    assert len(trace.times) == 3 * 20  # three 5-minute intervals of 15 s steps
    assert trace.times[1] - trace.times[0] == 15
    demand = trace.demand
    # Flat before the first middle (2.5 min = step 10), the value at each middle, linear between.
    assert demand[0] == pytest.approx(10 * trace.scale)
    assert demand[10] == pytest.approx(10 * trace.scale)
    assert demand[20] == pytest.approx(20 * trace.scale)  # halfway from 10 to 30
    assert demand[30] == pytest.approx(30 * trace.scale)
    assert demand[40] == pytest.approx(25 * trace.scale)
    assert max(demand) == pytest.approx(MODEL.peak_replicas * MODEL.per_replica)
    assert MODEL.needed(max(demand)) == 20


def test_short_gaps_are_bridged_and_reported(tmp_path: Path) -> None:
    trace = load_trace(write(tmp_path / "g.csv", five_minutes([10.0] * 10, skip=frozenset({4, 5}))), MODEL)
    gaps = trace.gaps_dict()
    assert gaps["count"] == 1
    assert gaps["longest_s"] == 900
    assert gaps["rows"] == [5]  # the row before the gap is on line 5 (the header is line 1)
    assert len(trace.times) == 10 * 20


def test_a_gap_beyond_the_limit_names_the_rows_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", five_minutes([10.0] * 40, skip=frozenset(range(5, 25))))
    with pytest.raises(TraceError) as caught:
        load_trace(path, MODEL)
    assert "after line 6" in caught.value.message
    assert caught.value.fix is not None
    assert "split the trace" in caught.value.fix


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([("2014-04-10 00:00:00", 1.0), ("2014-04-10 00:00:00", 2.0), ("2014-04-10 00:10:00", 2.0)], "line 3"),
        ([("2014-04-10 00:00:00", 1.0), ("2014-04-10 00:05:00", -2.0)], "line 3: value"),
        ([("2014-04-10 00:00:00", 1.0), ("2014-04-10 00:05:00", "lots")], "is not a number"),
        ([("yesterday", 1.0), ("2014-04-10 00:05:00", 1.0)], "line 2: timestamp"),
        ([("2014-04-10 00:00:00", 0.0), ("2014-04-10 00:05:00", 0.0)], "every value is 0"),
        ([("2014-04-10 00:00:00", 1.0)], "at least two rows"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, rows: list[tuple[str, float | str]], needle: str) -> None:
    with pytest.raises(TraceError, match=needle):
        load_trace(write(tmp_path / "bad.csv", rows), MODEL)


def test_a_missing_file_or_header_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read"):
        load_trace(tmp_path / "absent.csv", MODEL)
    (tmp_path / "nohead.csv").write_text("2014-04-10 00:00:00,1\n")
    with pytest.raises(TraceError, match="header"):
        load_trace(tmp_path / "nohead.csv", MODEL)
