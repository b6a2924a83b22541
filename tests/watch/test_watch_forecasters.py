"""The forecasters: exact on what they model, honest intervals, the shared contract's invariants."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import Forecaster, HoltForecaster, SeasonalForecaster, WatchInputError, make_forecaster


def feed(model: Forecaster, values: list[float], step: float = 60.0) -> None:
    for i, v in enumerate(values):
        model.update(i * step, v)


def test_holt_extrapolates_a_straight_line() -> None:
    model = HoltForecaster(60.0, phi=1.0)
    feed(model, [5.0 + 2.0 * i for i in range(300)])
    fc = model.forecast(5)
    assert fc.mean == pytest.approx([5.0 + 2.0 * (299 + h) for h in range(1, 6)], rel=1e-6)
    assert fc.timestamps == [299 * 60.0 + h * 60.0 for h in range(1, 6)]


def test_the_seasonal_model_repeats_a_daily_pattern() -> None:
    step = 3600.0
    day = [10.0 + 8.0 * math.sin(2 * math.pi * h / 24) for h in range(24)]
    model = SeasonalForecaster(step, seasons_s=(86_400.0,))
    feed(model, day * 10, step)
    fc = model.forecast(30)
    assert fc.mean == pytest.approx([day[h % 24] for h in range(30)], abs=1e-6)


def test_the_interval_covers_about_its_level_on_noise() -> None:
    rng = random.Random(7)
    model = HoltForecaster(60.0, alpha=0.1, beta=0.01, level=0.9, track=1)
    hits = total = 0
    for i in range(6000):
        if i >= 2000:
            fc = model.forecast(1)
            y = 100.0 + rng.gauss(0, 5)
            hits += fc.lower[0] <= y <= fc.upper[0]
            total += 1
        else:
            y = 100.0 + rng.gauss(0, 5)
        model.update(i * 60.0, y)
    assert 0.84 <= hits / total <= 0.96


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["holt", "seasonal"]),
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=80),
    st.integers(min_value=1, max_value=30),
)
def test_every_forecast_keeps_lower_le_mean_le_upper(name: str, values: list[float], horizon: int) -> None:
    model = make_forecaster(name, 300.0)
    feed(model, values, 300.0)
    fc = model.forecast(horizon)
    assert len(fc.mean) == len(fc.lower) == len(fc.upper) == len(fc.timestamps) == horizon
    for lo, m, hi in zip(fc.lower, fc.mean, fc.upper, strict=True):
        assert 0 <= lo <= m + 1e-9
        assert m <= hi + 1e-9
    assert name in fc.model


def test_an_unknown_forecaster_lists_the_known_ones() -> None:
    with pytest.raises(WatchInputError, match="seasonal, holt, naive"):
        make_forecaster("prophet", 60.0)
