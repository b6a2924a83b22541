"""The judge's inputs and outputs: per-request samples of one arm, the config, the judgement."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from finpilot.core import InputError
from finpilot.deliver._release import load_model_file

Verdict = Literal["pass", "fail", "inconclusive"]
Outcome = Literal["pass", "marginal", "fail", "no_data"]
HEADER = ("timestamp", "latency_ms", "error")


@dataclass(frozen=True)
class Samples:
    """One arm's requests over a window: one row per request, in time order.

    ``extra`` holds optional per-request 0/1 columns beyond the three required ones (for example
    ``declined`` for the fraud engine's decline rate), keyed by column name.
    """

    timestamp: npt.NDArray[np.float64]
    latency_ms: npt.NDArray[np.float64]
    error: npt.NDArray[np.bool_]
    extra: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[float, float, bool]]) -> Samples:
        """Samples from ``(timestamp, latency_ms, error)`` tuples, checked like a CSV."""
        items = list(rows)
        ts = np.array([r[0] for r in items], dtype=np.float64)
        lat = np.array([r[1] for r in items], dtype=np.float64)
        err = np.array([bool(r[2]) for r in items], dtype=np.bool_)
        return cls._checked(ts, lat, err, {}, "rows")

    @classmethod
    def from_csv(cls, path: Path) -> Samples:
        """Read ``timestamp,latency_ms,error`` rows; a bad header, NaN or a row out of order is an InputError."""
        import csv

        try:
            return cls._read_csv(path)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file", field="samples", fix="name an existing samples CSV") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(
                f"{path}: cannot read it as a samples CSV: {type(exc).__name__}",
                field="samples",
                fix="write UTF-8 text in the CSV format 'timestamp,latency_ms,error[,column...]'",
            ) from None

    @classmethod
    def _read_csv(cls, path: Path) -> Samples:
        import csv

        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header[:3]) != HEADER:
                raise InputError(
                    f"{path}: the header is {','.join(header or [])!r}",
                    field="header",
                    fix="start the file with the line 'timestamp,latency_ms,error'",
                )
            names = [h.strip() for h in header[3:]]
            ts: list[float] = []
            lat: list[float] = []
            err: list[bool] = []
            extra: dict[str, list[float]] = {n: [] for n in names}
            for line, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise InputError(f"{path}:{line}: {len(row)} fields, expected {len(header)}", field=f"line {line}")
                t, latency, error = (
                    _number(path, line, name, value) for name, value in zip(HEADER, row[:3], strict=True)
                )
                if error not in (0.0, 1.0):
                    raise InputError(f"{path}:{line}: error is {row[2]!r}", field="error", fix="write 0 or 1")
                ts.append(t)
                lat.append(latency)
                err.append(error == 1.0)
                for name, value in zip(names, row[3:], strict=True):
                    extra[name].append(_number(path, line, name, value))
        arrays = {n: np.array(v, dtype=np.float64) for n, v in extra.items()}
        return cls._checked(
            np.array(ts, dtype=np.float64),
            np.array(lat, dtype=np.float64),
            np.array(err, dtype=np.bool_),
            arrays,
            str(path),
        )

    @classmethod
    def _checked(
        cls,
        ts: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
        err: npt.NDArray[np.bool_],
        extra: Mapping[str, npt.NDArray[np.float64]],
        where: str,
    ) -> Samples:
        # A CSV names the file line (the header is line 1); rows given in code name the row (from 1).
        def place(index: int) -> str:
            return f"{where}:{index + 2}" if where != "rows" else f"rows: row {index + 1}"

        if ts.size and not bool(np.all(np.diff(ts) >= 0)):
            offender = int(np.argmax(np.diff(ts) < 0)) + 1
            raise InputError(
                f"{place(offender)}: timestamp goes back in time", field="timestamp", fix="sort the rows by timestamp"
            )
        if bool(np.any(lat < 0)):
            raise InputError(
                f"{place(int(np.argmax(lat < 0)))}: latency_ms is negative",
                field="latency_ms",
                fix="latencies are >= 0",
            )
        return cls(ts, lat, err, dict(extra))

    def window(self, start: float, end: float) -> Samples:
        """The requests with ``start <= timestamp < end``."""
        lo, hi = np.searchsorted(self.timestamp, [start, end], side="left")
        return Samples(
            self.timestamp[lo:hi],
            self.latency_ms[lo:hi],
            self.error[lo:hi],
            {k: v[lo:hi] for k, v in self.extra.items()},
        )


def _number(path: Path, line: int, name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{path}:{line}: {name} is {value!r}", field=name, fix="write a number") from None
    if not math.isfinite(number):
        raise InputError(f"{path}:{line}: {name} is {value!r}", field=name, fix="write a finite number (no NaN or inf)")
    return number


METRICS = ("error_rate", "latency_p50", "latency_p95", "latency_p99", "payment_success_rate", "decline_rate")
"""Every metric the judge knows, in the order it reports them."""

MetricName = Literal["error_rate", "latency_p50", "latency_p95", "latency_p99", "payment_success_rate", "decline_rate"]


class JudgeConfig(BaseModel):
    """How the judge decides; every field has a default that suits a payments API.

    The defaults were measured with ``bench/deliver/bench_judge.py`` (see ``docs/deliver-judge.md``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_requests: int = Field(200, ge=1, description="Fewer requests in either arm is 'not enough data'.")
    alpha: float = Field(
        0.001,
        gt=0,
        lt=1,
        description="Family-wise significance level of one analysis: Holm's step-down over its metrics.",
    )
    error_rate_floor: float = Field(
        0.01, ge=0, description="An error-rate rise below this (absolute, 0.01 = 1 point) is ignored."
    )
    median_ratio_floor: float = Field(
        1.15, ge=1, description="A median latency rising by less than this ratio (canary/baseline) is ignored."
    )
    p95_ratio_floor: float = Field(1.25, ge=1, description="A p95 latency rising by less than this ratio is ignored.")
    latency_ratio_floor: float = Field(
        1.4,
        ge=1,
        description=(
            "A p99 latency rising by less than this ratio is ignored (two arms of one release differ by up to"
            " about 1.25x at p99 in the benchmark: replicas differ and GC stalls are rare)."
        ),
    )
    tail_min_exceedances: int = Field(
        10,
        ge=1,
        description=(
            "A tail percentile q is judged only when each arm has at least this many requests expected above it"
            " (n * (1 - q)): p99 needs 1,000 requests per arm by default; fewer is no_data for that metric."
        ),
    )
    business_rate_floor: float = Field(
        0.01,
        ge=0,
        description="A payment success rate falling, or a decline rate moving either way, by less than this is ignored",
    )
    critical: tuple[MetricName, ...] = Field(
        ("error_rate", "latency_p99", "payment_success_rate", "decline_rate"),
        description="Metrics whose failure fails the canary whatever the score.",
    )
    weights: dict[MetricName, float] = Field(
        default_factory=dict, description="Weight of each metric in the score (1 when not named)."
    )
    disabled: tuple[MetricName, ...] = Field((), description="Metrics not judged at all.")
    pass_score: float = Field(95.0, ge=0, le=100, description="A score at or above this passes.")
    marginal_score: float = Field(75.0, ge=0, le=100, description="A score below this fails; between is inconclusive.")
    slo_max_error_rate: float | None = Field(
        None, ge=0, le=1, description="Hard guard: a canary error rate above this fails, whatever the baseline."
    )
    slo_max_p99_ms: float | None = Field(
        None, gt=0, description="Hard guard: a canary p99 latency above this (ms) fails, whatever the baseline."
    )
    on_not_enough_data: Literal["pause", "extend"] = Field(
        "pause", description="What the rollout does when an analysis has too few requests."
    )
    on_inconclusive: Literal["extend", "pause", "fail"] = Field(
        "extend", description="What the rollout does with an inconclusive verdict."
    )
    max_extensions: int = Field(
        3, ge=0, description="How often an inconclusive analysis may extend the window before the rollout pauses."
    )

    @model_validator(mode="after")
    def _scores_ordered(self) -> JudgeConfig:
        if self.marginal_score > self.pass_score:
            raise ValueError("marginal_score must not exceed pass_score")
        return self

    @classmethod
    def load(cls, path: Path) -> JudgeConfig:
        """Read a YAML or JSON judge config; unknown or bad fields are an InputError naming them."""
        return load_model_file(cls, path, "the judge config")


class MetricResult(BaseModel):
    """One metric compared: both arms' values, the test's statistic and p-value, the effect size."""

    model_config = ConfigDict(frozen=True)

    name: str
    baseline: float | None
    canary: float | None
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    outcome: Outcome
    critical: bool = False
    reason: str = ""
    test: str = Field("", description="The test that gave the p-value.")
    p_adjusted: float | None = Field(None, description="The p-value after Holm's step-down over this analysis.")
    floor: float | None = Field(None, description="The effect size below which a difference is ignored.")
    weight: float = 1.0


class Judgement(BaseModel):
    """The verdict over one window, with every metric's evidence."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    enough_data: bool
    score: float
    reason: str
    baseline_requests: int
    canary_requests: int
    metrics: list[MetricResult]
    slo_breaches: list[str] = Field(default_factory=list, description="Hard SLO guards the canary broke.")
    correction: str = Field("holm", description="How the analysis controls for testing several metrics at once.")
