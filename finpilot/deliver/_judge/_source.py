"""Where an analysis gets its samples: the :class:`SampleSource` protocol and the CSV directory source.

A source answers "the baseline's and the canary's requests of rollout X" and names the files it
read (path and digest), so the audit entry lets an auditor check exactly what was judged.

:class:`CsvDirectorySource` reads ``<root>/<namespace>/<name>/{baseline,canary}.csv`` (or
``<root>/<name>/...`` for a name without a namespace), in the samples CSV format of
:meth:`Samples.from_csv`. Whatever produces per-request samples (the local router, a log
shipper, a test) writes them there. :class:`MetricsSampleSource` (``_metrics_source``) reads
the two arms' counters and histograms from a metrics backend (the embedded store or a real
Prometheus) instead of raw requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from finpilot.core import InputError, NotFoundError
from finpilot.deliver._judge._model import Samples
from finpilot.deliver._release import file_digest

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


@dataclass(frozen=True)
class SampleSet:
    """Both arms of one rollout, where they came from, and the files read (``(path, "sha256:<hex>")``)."""

    baseline: Samples
    canary: Samples
    description: str
    files: tuple[tuple[str, str], ...] = ()


class SampleSource(Protocol):
    """Anything that can hand the judge both arms of a rollout."""

    def samples(self, rollout: str, *, window_s: float | None = None) -> SampleSet:
        """Both arms of ``rollout`` (``name`` or ``namespace/name``); with ``window_s``, only the last seconds.

        Raises :class:`NotFoundError` when the rollout has no samples, :class:`InputError` when its
        name or its samples are bad.
        """
        ...


def rollout_parts(rollout: str) -> tuple[str, ...]:
    """``name`` or ``namespace/name`` split and checked: each part is a release-id-like name, never a path."""
    parts = tuple(rollout.split("/"))
    if not 1 <= len(parts) <= 2 or not all(_NAME.fullmatch(p) and ".." not in p for p in parts):
        raise InputError(
            # Not echoed: the name may come from an HTTP client, whose input is never sent back.
            "the rollout is not a name or namespace/name",
            field="rollout",
            fix="use letters, digits and . _ @ + - (starting with a letter or digit), at most one '/'",
        )
    return parts


def last_seconds(baseline: Samples, canary: Samples, window_s: float | None) -> tuple[Samples, Samples]:
    """Both arms cut to the ``window_s`` seconds before the latest request of either (unchanged without one)."""
    if window_s is None or (len(baseline) == 0 and len(canary) == 0):
        return baseline, canary
    ends = [float(s.timestamp[-1]) for s in (baseline, canary) if len(s)]
    end = max(ends)
    start = end - window_s
    # ``window`` is half-open; the latest request itself belongs to the window.
    return baseline.window(start, end + 1e-9), canary.window(start, end + 1e-9)


class CsvDirectorySource:
    """Samples CSV files under one root directory, one folder per rollout."""

    def __init__(self, root: Path) -> None:
        """Read rollouts under ``root``."""
        self.root = root

    def samples(self, rollout: str, *, window_s: float | None = None) -> SampleSet:
        """Both arms of ``rollout`` from ``<root>/<rollout>/{baseline,canary}.csv``."""
        folder = self.root.joinpath(*rollout_parts(rollout))
        paths = (folder / "baseline.csv", folder / "canary.csv")
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise NotFoundError(
                f"no samples for this rollout: {', '.join(missing)} missing",
                fix="write baseline.csv and canary.csv under <samples dir>/<namespace>/<name>/",
            )
        baseline, canary = last_seconds(Samples.from_csv(paths[0]), Samples.from_csv(paths[1]), window_s)
        return SampleSet(
            baseline,
            canary,
            f"csv:{rollout}",
            tuple((str(p), file_digest(p)) for p in paths),
        )
