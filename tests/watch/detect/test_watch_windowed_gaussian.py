"""The windowed-Gaussian baseline behaves as NAB's: row for row on published rows, and by hand."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from finpilot.watch import WindowedGaussian

FIXTURE = Path(__file__).parent / "data" / "windowedGaussian_speed_7578_head.csv"


def test_the_first_point_scores_zero_and_a_flat_window_makes_any_change_certain() -> None:
    det = WindowedGaussian()
    assert det.score_one(0, 5.0) == 0.0
    det.learn_one(0, 5.0)
    # One value in the window: no spread, NAB's std floor of 1e-6 makes 6 a certain anomaly.
    assert det.score_one(1, 6.0) == 1.0
    assert det.score_one(1, 5.0) == 0.5


def test_the_score_is_one_minus_the_tail_beyond_the_distance_from_the_window_mean() -> None:
    det = WindowedGaussian(window=4, step=1)
    for i, x in enumerate([1.0, 2.0, 3.0, 4.0, 100.0]):
        det.learn_one(i, x)
    window = [2.0, 3.0, 4.0, 100.0]  # the oldest value slid out
    mean = sum(window) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in window) / 4)
    z = abs(0.0 - mean) / std
    assert det.score_one(5, 0.0) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), abs=1e-12)


def test_a_full_window_moves_one_step_at_a_time() -> None:
    det = WindowedGaussian(window=4, step=2)
    for i, x in enumerate([1.0, 2.0, 3.0, 4.0, 50.0]):
        det.learn_one(i, x)
    # 50 waits in the step buffer: the statistics are still those of 1, 2, 3, 4.
    mean, std = 2.5, math.sqrt(1.25)
    assert det.score_one(5, 5.0) == pytest.approx(0.5 * (1 + math.erf((5.0 - mean) / std / math.sqrt(2))), abs=1e-12)
    det.learn_one(5, 60.0)
    window = [3.0, 4.0, 50.0, 60.0]
    mean = sum(window) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in window) / 4)
    assert det.score_one(6, 0.0) == pytest.approx(0.5 * (1 + math.erf(mean / std / math.sqrt(2))), abs=1e-12)


def test_a_long_stream_keeps_the_exact_window_statistics() -> None:
    det = WindowedGaussian(window=50, step=1)
    values = [1e6 + (i % 7) * 0.001 for i in range(5000)]
    for i, x in enumerate(values):
        det.learn_one(i, x)
    window = values[-50:]
    mean = math.fsum(window) / 50
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / 50)
    probe = mean + 2 * std
    assert det.score_one(0, probe) == pytest.approx(0.5 * (1 + math.erf(2 / math.sqrt(2))), abs=1e-6)


def test_scores_match_nab_published_rows() -> None:
    # The first rows of numenta/NAB results/windowedGaussian/realTraffic/
    # windowedGaussian_speed_7578.csv (MIT licence; see data/README.md): values and scores.
    with FIXTURE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 100
    det = WindowedGaussian()
    for i, row in enumerate(rows):
        x = float(row["value"])
        assert det.score_one(i, x) == pytest.approx(float(row["anomaly_score"]), abs=1e-11), f"row {i + 2}"
        det.learn_one(i, x)
