"""Small NAB corpora the tests build themselves, so they pass without ``shared/data/nab``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from finpilot.watch import NabCorpus, NabFile, Profile

SHARED_NAB = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "nab"
"""The real corpus when the checkout sits beside ``shared/`` (tests must also pass without it)."""

PROFILES = {
    "standard": Profile("standard", 1.0, 0.11, 1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
}
"""NAB's three cost profiles (config/profiles.json)."""

START = datetime(2014, 4, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def stamp(row: int) -> str:
    """The timestamp text of ``row`` in the synthetic files."""
    return (START + row * STEP).strftime("%Y-%m-%d %H:%M:%S")


def nab_file(name: str, rows: int, windows: Sequence[tuple[int, int]], seed: int = 0) -> NabFile:
    """A synthetic file: a noisy sine, a step inside each window."""
    rng = np.random.default_rng(seed)
    values = np.sin(np.arange(rows) / 10.0) + rng.normal(0, 0.1, rows)
    for left, right in windows:
        values[left : right + 1] += 5.0
    stamps = tuple(stamp(i) for i in range(rows))
    times = np.array([(START + i * STEP).timestamp() for i in range(rows)])
    return NabFile(name, stamps, times, values, tuple(windows))


def corpus(*files: NabFile) -> NabCorpus:
    """A corpus of ``files`` under NAB's profiles."""
    return NabCorpus(tuple(files), PROFILES)


def write_tree(root: Path, nab: NabCorpus) -> Path:
    """Write ``nab`` as a NAB directory (data/, labels/, config/) under ``root``."""
    labels: dict[str, list[list[str]]] = {}
    for f in nab.files:
        path = root / "data" / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value"] + [f"{t},{v!r}" for t, v in zip(f.timestamps, f.values.tolist(), strict=True)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        labels[f.name] = [[f.timestamps[a] + ".000000", f.timestamps[b] + ".000000"] for a, b in f.windows]
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels, indent=4), encoding="utf-8")
    (root / "config").mkdir(parents=True, exist_ok=True)
    profiles = {
        p.name: {
            "CostMatrix": {"tpWeight": p.tp_weight, "fnWeight": p.fn_weight, "fpWeight": p.fp_weight, "tnWeight": 1.0}
        }
        for p in nab.profiles.values()
    }
    (root / "config" / "profiles.json").write_text(json.dumps(profiles, indent=2), encoding="utf-8")
    return root


def _matrix(p: Profile) -> dict[str, float]:
    return {"tpWeight": p.tp_weight, "fnWeight": p.fn_weight, "fpWeight": p.fp_weight, "tnWeight": 1.0}


@pytest.fixture
def small_corpus() -> NabCorpus:
    """Three files, four windows, one file with none."""
    return corpus(
        nab_file("groupA/one.csv", 200, [(60, 79), (140, 159)], seed=1),
        nab_file("groupA/two.csv", 150, [(90, 104)], seed=2),
        nab_file("groupB/three.csv", 120, [], seed=3),
    )


@pytest.fixture
def small_tree(tmp_path: Path, small_corpus: NabCorpus) -> Path:
    """``small_corpus`` written as a NAB directory."""
    return write_tree(tmp_path / "nab", small_corpus)
