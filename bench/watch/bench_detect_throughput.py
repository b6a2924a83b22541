"""Points per second of each streaming detector, one process, ``score_one`` then ``learn_one``.

The series is NAB's longest real file when ``--nab`` points at the benchmark (the shared copy is
the default), else a synthetic daily sine with noise and spikes of the same length, so the
benchmark runs anywhere. Process CPU time is reported beside wall time, because the shared 2-core
machine is noisy. Prints ONE JSON object on stdout. Example::

    .venv/bin/python -m bench.watch.bench_detect_throughput --detectors ensemble,contextual,seasonal
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from finpilot.watch import make_detector

_NAB_FILE = "data/realKnownCause/machine_temperature_system_failure.csv"


def _series(nab: Path, n: int) -> tuple[str, list[tuple[float, float]]]:
    path = nab / _NAB_FILE
    if path.is_file():
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        points = [
            (datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC).timestamp(), float(r["value"])) for r in rows
        ]
        return str(path), points[:n]
    rng = random.Random(0)
    points = []
    for i in range(n):
        x = 50.0 + 10.0 * math.sin(i * 2 * math.pi / 288) + rng.gauss(0.0, 1.0)
        points.append((1_700_000_000.0 + 300.0 * i, x + (40.0 if rng.random() < 0.002 else 0.0)))
    return "synthetic", points


def measure(name: str, points: list[tuple[float, float]]) -> dict[str, float]:
    """Run one fresh detector over ``points``; wall and CPU points per second."""
    det = make_detector(name)
    score, learn = det.score_one, det.learn_one
    w0, c0 = time.perf_counter(), time.process_time()
    for t, x in points:
        score(t, x)
        learn(t, x)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {
        "points_per_s_wall": round(len(points) / wall),
        "points_per_s_cpu": round(len(points) / cpu),
        "us_per_point_cpu": round(cpu / len(points) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="ensemble,contextual,seasonal")
    parser.add_argument("--nab", type=Path, default=Path("../shared/data/nab"))
    parser.add_argument("--points", type=int, default=22_695)
    args = parser.parse_args()
    source, points = _series(args.nab, args.points)
    result = {
        "benchmark": "watch.detect.throughput",
        "series": source,
        "points": len(points),
        "detectors": {name: measure(name, points) for name in args.detectors.split(",")},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
