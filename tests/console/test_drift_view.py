"""The drift card's view model: PSI bands, chart geometry, ADWIN state, and summaries of other shapes."""

from __future__ import annotations

from typing import Any

import pytest

from finpilot.console._drift_view import SCORE_LABEL, band_of, build_drift_view, thresholds_of
from finpilot.fraud import DriftThresholds


def monitor_summary(**psi: Any) -> dict[str, Any]:
    """A summary in DriftMonitor.summary()'s shape, after a PSI check."""
    report = {
        "status": "drift",
        "score_psi": 0.31,
        "features": [
            {"name": "amount", "psi": 3.5, "level": "drift"},
            {"name": "cust_nb_tx_1d", "psi": 0.12, "level": "warn"},
            {"name": "is_night", "psi": 0.01, "level": "ok"},
        ],
        "drifted_features": ["amount"],
        "inputs_drifted": False,
        "window": 2000,
        "reference_size": 5000,
        **psi,
    }
    return {
        "status": "drift",
        "model_version": "m1",
        "decisions": 4321,
        "window": 2000,
        "filling": 321,
        "psi": report,
        "adwin": {
            "labels": 40,
            "errors": 9,
            "error_rate": 0.225,
            "adwin_width": 40,
            "adwin_detections": 1,
            "adwin_delta": 0.002,
        },
        "alerts": {"psi": 17, "adwin": -1},
        "retrain_wanted": True,
    }


@pytest.mark.parametrize(
    ("psi", "band"),
    [
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.1, "moderate"),
        (0.2499, "moderate"),
        (0.25, "significant"),
        (9.0, "significant"),
        (None, "unknown"),
        (float("nan"), "unknown"),
    ],
)
def test_bands_split_at_the_thresholds(psi: float | None, band: str) -> None:
    assert band_of(psi, 0.1, 0.25) == band


def test_a_monitors_summary_becomes_rows_with_bands_and_the_score_first() -> None:
    view = build_drift_view(monitor_summary(), None)
    assert view is not None
    assert [(r.name, r.psi, r.band) for r in view.rows] == [
        (SCORE_LABEL, 0.31, "significant"),
        ("amount", 3.5, "significant"),
        ("cust_nb_tx_1d", 0.12, "moderate"),
        ("is_night", 0.01, "stable"),
    ]
    assert view.rows[0].is_score
    assert not any(r.is_score for r in view.rows[1:])
    assert (view.status, view.band, view.model_version, view.decisions) == ("drift", "significant", "m1", 4321)
    assert (view.checked, view.psi_window, view.reference_size, view.filling) == (True, 2000, 5000, 321)
    assert view.drifted_features == ("amount",)
    assert view.retrain_wanted is True
    assert view.other == ()


def test_the_adwin_state_and_the_drift_entries_are_carried() -> None:
    view = build_drift_view(monitor_summary(), None)
    assert view is not None
    assert view.adwin is not None
    adwin = view.adwin
    assert (adwin.labels, adwin.errors, adwin.error_rate, adwin.width, adwin.detections, adwin.delta) == (
        40,
        9,
        0.225,
        40,
        1,
        0.002,
    )
    # -1 means the entry is being written: no link yet.
    assert [(s.signal, s.index) for s in view.signals] == [("adwin", None), ("psi", 17)]


def test_the_chart_scales_bars_clips_beyond_the_axis_and_shades_the_three_bands() -> None:
    view = build_drift_view(monitor_summary(), None)
    assert view is not None
    assert view.chart is not None
    chart = view.chart
    assert chart.axis_max == 2.0  # the largest step; 3.5 is beyond it
    span = chart.right - chart.left
    bars = {r.name: r for r in view.rows}
    assert bars["amount"].clipped
    assert bars["amount"].bar_w == pytest.approx(span)
    assert not bars[SCORE_LABEL].clipped
    assert bars[SCORE_LABEL].bar_w == pytest.approx(0.31 / 2.0 * span, abs=0.01)
    assert bars["cust_nb_tx_1d"].bar_w > bars["is_night"].bar_w
    assert [r.y for r in view.rows] == sorted(r.y for r in view.rows)  # one row under the other
    assert [a.band for a in chart.areas] == ["stable", "moderate", "significant"]
    assert chart.areas[0].x == chart.left
    assert chart.areas[1].x == pytest.approx(chart.left + 0.1 / 2.0 * span, abs=0.01)
    assert chart.areas[2].x + chart.areas[2].w == pytest.approx(chart.right, abs=0.01)
    assert [t.label for t in chart.ticks] == ["0", "0.1", "0.25", "2"]


def test_a_small_drift_uses_a_short_axis() -> None:
    features = [{"name": "amount", "psi": 0.05, "level": "ok"}]
    view = build_drift_view(monitor_summary(score_psi=0.02, features=features, drifted_features=[]), None)
    assert view is not None
    assert view.chart is not None
    assert view.chart.axis_max == 0.5
    assert [r.band for r in view.rows] == ["stable", "stable"]


def test_the_monitors_own_thresholds_set_the_score_band() -> None:
    class Monitor:
        thresholds = DriftThresholds(warn=0.3, drift=0.6)

    view = build_drift_view(monitor_summary(), Monitor())
    assert view is not None
    assert (view.warn, view.drift) == (0.3, 0.6)
    assert view.rows[0].band == "moderate"  # 0.31 is past warn but short of drift
    assert view.rows[2].band == "moderate"  # a feature keeps the level its monitor gave it
    assert thresholds_of(object()) == (DriftThresholds().warn, DriftThresholds().drift)


def test_before_the_first_psi_check_there_are_no_rows_and_no_chart() -> None:
    summary = {**monitor_summary(), "psi": None, "status": "ok", "alerts": {}, "retrain_wanted": False}
    view = build_drift_view(summary, None)
    assert view is not None
    assert (view.checked, view.rows, view.chart, view.signals, view.band) == (False, (), None, (), "stable")


def test_no_monitor_is_no_view_and_a_failed_one_shows_its_error() -> None:
    assert build_drift_view(None, None) is None
    failed = build_drift_view({"error": "the drift monitor could not report"}, None)
    assert failed is not None
    assert failed.error == "the drift monitor could not report"


def test_a_summary_of_another_shape_keeps_its_fields() -> None:
    view = build_drift_view({"score_psi": 0.31, "adwin": None, "signals": ["score"]}, None)
    assert view is not None
    assert view.status == "unknown"
    assert view.adwin is None
    assert dict(view.other) == {"score_psi": "0.31", "signals": '["score"]'}
    bad_values = build_drift_view({**monitor_summary(), "decisions": "many", "adwin": [1, 2]}, None)
    assert bad_values is not None
    assert (bad_values.decisions, bad_values.adwin) == (None, None)
