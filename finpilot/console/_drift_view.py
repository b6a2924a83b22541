"""The Fraud page's drift card: a drift monitor's summary as table rows, PSI bands and an SVG bar chart.

The input is the JSON-able dict that :meth:`finpilot.fraud.DriftMonitor.summary` returns (after
the page's NaN clean-up): ``status``, ``model_version``, ``decisions``, ``window``, ``filling``,
``psi`` (the last PSI check, or None before the first: ``score_psi``, ``features`` as
``{name, psi, level}`` with the highest PSI first, ``drifted_features``, ``inputs_drifted``,
``window``, ``reference_size``), ``adwin`` (``labels``, ``errors``, ``error_rate``,
``adwin_width``, ``adwin_detections``, ``adwin_delta``), ``alerts`` (signal → audit index of its
``fraud.drift`` entry, -1 while it is being written) and ``retrain_wanted``.

PSI bands follow the monitor's thresholds: below ``warn`` (0.1) *stable*, up to ``drift``
(0.25) *moderate*, from there *significant*. The console may hold any object with a
``summary()``, so fields this module does not know are listed as they are, never dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finpilot.fraud import DriftThresholds

BANDS = ("stable", "moderate", "significant")
"""PSI bands, lowest first: below ``warn``, from ``warn`` to ``drift``, from ``drift`` up."""

SCORE_LABEL = "model score"
"""The chart's and table's name for the PSI of the model's score."""

_LEVEL_BAND = {"ok": "stable", "warn": "moderate", "drift": "significant"}
_KNOWN = {"status", "model_version", "decisions", "window", "filling", "psi", "adwin", "alerts", "retrain_wanted"}
_AXIS_STEPS = (0.5, 1.0, 2.0)  # the chart's x axis ends at the first step that holds every PSI
_W, _LABEL_W, _VALUE_W = 640, 230, 56
_ROW_H, _TOP, _AXIS_H = 20, 6, 22


@dataclass(frozen=True, slots=True)
class PsiRow:
    """One input's PSI (or the score's), its band, and its bar in the chart (SVG user units)."""

    name: str
    psi: float | None
    band: str
    """One of :data:`BANDS`, or ``unknown`` when the PSI is missing or not finite."""
    is_score: bool
    y: float
    bar_w: float
    clipped: bool
    """The PSI is beyond the axis; the bar stops at its end and the label gives the value."""


@dataclass(frozen=True, slots=True)
class BandArea:
    """A shaded band behind the bars."""

    band: str
    x: float
    w: float


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis mark at a PSI value."""

    x: float
    label: str


@dataclass(frozen=True, slots=True)
class PsiChart:
    """Geometry of the horizontal bar chart; ``left``..``right`` is the PSI axis, 0 to ``axis_max``."""

    width: int
    height: int
    left: int
    right: int
    axis_y: float
    axis_max: float
    areas: tuple[BandArea, ...]
    ticks: tuple[Tick, ...]


@dataclass(frozen=True, slots=True)
class AdwinView:
    """The error-rate monitor (ADWIN over each label's decision error)."""

    labels: int | None
    errors: int | None
    error_rate: float | None
    """ADWIN's estimate: the mean error of its current window."""
    width: int | None
    """How many errors ADWIN's window holds."""
    detections: int | None
    """Changes ADWIN detected so far, rises and falls (only a rise is drift)."""
    delta: float | None


@dataclass(frozen=True, slots=True)
class DriftSignal:
    """A signal that found drift, and its ``fraud.drift`` audit entry (None while being written)."""

    signal: str
    index: int | None


@dataclass(frozen=True, slots=True)
class DriftView:
    """Everything the drift card draws."""

    status: str
    band: str
    model_version: str | None
    decisions: int | None
    window: int | None
    filling: int | None
    warn: float
    drift: float
    checked: bool
    """Whether a PSI check has run (the first one comes after ``window`` decisions)."""
    psi_window: int | None
    reference_size: int | None
    rows: tuple[PsiRow, ...]
    drifted_features: tuple[str, ...]
    inputs_drifted: bool | None
    chart: PsiChart | None
    adwin: AdwinView | None
    signals: tuple[DriftSignal, ...]
    retrain_wanted: bool
    other: tuple[tuple[str, str], ...]
    """Fields this module does not know, as ``(name, JSON text)``."""
    error: str | None = None


def band_of(psi: float | None, warn: float, drift: float) -> str:
    """The band of a PSI value: ``stable`` below ``warn``, ``moderate`` below ``drift``, else ``significant``."""
    if psi is None or not math.isfinite(psi):
        return "unknown"
    return "significant" if psi >= drift else "moderate" if psi >= warn else "stable"


def thresholds_of(monitor: object | None) -> tuple[float, float]:
    """The monitor's ``(warn, drift)`` PSI levels, or the defaults for a monitor that does not carry them."""
    found = getattr(monitor, "thresholds", None)
    if isinstance(found, DriftThresholds):
        return found.warn, found.drift
    default = DriftThresholds()
    return default.warn, default.drift


def build_drift_view(summary: Any, monitor: object | None = None) -> DriftView | None:
    """The drift card for a monitor's JSON-able ``summary`` (None: no monitor, so nothing to draw)."""
    if summary is None:
        return None
    warn, drift = thresholds_of(monitor)
    if not isinstance(summary, Mapping):
        return _empty(warn, drift, other=(("summary", _text(summary)),))
    if set(summary) == {"error"}:
        return _empty(warn, drift, error=str(summary["error"]))
    psi = summary.get("psi")
    psi = psi if isinstance(psi, Mapping) else None
    rows = _rows(psi, warn, drift) if psi is not None else []
    chart, rows = _chart(rows, warn, drift)
    status = str(summary.get("status", "unknown"))
    return DriftView(
        status=status,
        band=_LEVEL_BAND.get(status, "unknown"),
        model_version=_str_or_none(summary.get("model_version")),
        decisions=_int_or_none(summary.get("decisions")),
        window=_int_or_none(summary.get("window")),
        filling=_int_or_none(summary.get("filling")),
        warn=warn,
        drift=drift,
        checked=psi is not None,
        psi_window=_int_or_none(psi.get("window")) if psi is not None else None,
        reference_size=_int_or_none(psi.get("reference_size")) if psi is not None else None,
        rows=tuple(rows),
        drifted_features=tuple(str(n) for n in psi.get("drifted_features", ()) or ()) if psi is not None else (),
        inputs_drifted=_bool_or_none(psi.get("inputs_drifted")) if psi is not None else None,
        chart=chart,
        adwin=_adwin(summary.get("adwin")),
        signals=_signals(summary.get("alerts")),
        retrain_wanted=summary.get("retrain_wanted") is True,
        other=tuple((str(k), _text(v)) for k, v in summary.items() if k not in _KNOWN),
    )


def _empty(
    warn: float, drift: float, *, other: tuple[tuple[str, str], ...] = (), error: str | None = None
) -> DriftView:
    return DriftView(
        status="unknown",
        band="unknown",
        model_version=None,
        decisions=None,
        window=None,
        filling=None,
        warn=warn,
        drift=drift,
        checked=False,
        psi_window=None,
        reference_size=None,
        rows=(),
        drifted_features=(),
        inputs_drifted=None,
        chart=None,
        adwin=None,
        signals=(),
        retrain_wanted=False,
        other=other,
        error=error,
    )


def _rows(psi: Mapping[str, Any], warn: float, drift: float) -> list[PsiRow]:
    # The score first (it alone can raise model-level drift), then the features as the monitor
    # ranked them, highest PSI first. A feature's own level is the monitor's verdict; it is used
    # as given so the table never disagrees with the ledger's evidence.
    score = _float_or_none(psi.get("score_psi"))
    rows = [PsiRow(SCORE_LABEL, score, band_of(score, warn, drift), True, 0.0, 0.0, False)]
    for feature in psi.get("features", ()) or ():
        if not isinstance(feature, Mapping):
            continue
        value = _float_or_none(feature.get("psi"))
        band = _LEVEL_BAND.get(str(feature.get("level")), band_of(value, warn, drift))
        rows.append(PsiRow(str(feature.get("name", "?")), value, band, False, 0.0, 0.0, False))
    return rows


def _chart(rows: list[PsiRow], warn: float, drift: float) -> tuple[PsiChart | None, list[PsiRow]]:
    if not rows:
        return None, rows
    peak = max((r.psi for r in rows if r.psi is not None), default=0.0)
    axis_max = next((step for step in _AXIS_STEPS if peak <= step), _AXIS_STEPS[-1])
    axis_max = max(axis_max, drift * 1.2)  # the significant band stays visible whatever the thresholds
    left, right = _LABEL_W, _W - _VALUE_W
    span = right - left

    def x_of(value: float) -> float:
        return round(left + min(value, axis_max) / axis_max * span, 2)

    placed = [
        PsiRow(
            r.name,
            r.psi,
            r.band,
            r.is_score,
            y=_TOP + i * _ROW_H,
            bar_w=round(x_of(r.psi) - left, 2) if r.psi is not None else 0.0,
            clipped=r.psi is not None and r.psi > axis_max,
        )
        for i, r in enumerate(rows)
    ]
    axis_y = _TOP + len(rows) * _ROW_H
    edges = (0.0, min(warn, axis_max), min(drift, axis_max), axis_max)
    areas = tuple(
        BandArea(band, x_of(lo), round(x_of(hi) - x_of(lo), 2))
        for band, lo, hi in zip(BANDS, edges, edges[1:], strict=False)
        if hi > lo
    )
    ticks = tuple(Tick(x_of(v), f"{v:g}") for v in sorted({0.0, warn, drift, axis_max}) if v <= axis_max)
    chart = PsiChart(_W, axis_y + _AXIS_H, left, right, axis_y, axis_max, areas, ticks)
    return chart, placed


def _adwin(value: Any) -> AdwinView | None:
    if not isinstance(value, Mapping):
        return None
    return AdwinView(
        labels=_int_or_none(value.get("labels")),
        errors=_int_or_none(value.get("errors")),
        error_rate=_float_or_none(value.get("error_rate")),
        width=_int_or_none(value.get("adwin_width")),
        detections=_int_or_none(value.get("adwin_detections")),
        delta=_float_or_none(value.get("adwin_delta")),
    )


def _signals(value: Any) -> tuple[DriftSignal, ...]:
    if not isinstance(value, Mapping):
        return ()
    signals = []
    for signal, index in sorted(value.items()):
        number = _int_or_none(index)
        signals.append(DriftSignal(str(signal), number if number is not None and number >= 0 else None))
    return tuple(signals)


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except ValueError:  # a circular structure: say what it is rather than fail the page
        return repr(value)
