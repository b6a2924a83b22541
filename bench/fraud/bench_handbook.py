"""The handbook protocol on the public data set, with an XGBoost baseline in the same run.

Runs exactly what ``finpilot fraud replay --protocol handbook`` runs (one pass of the streaming
features, model selection on the 4 validation folds, the 4 test folds), then trains XGBoost with
today's library defaults on the handbook's own 15 features (computed by the same streaming
engine) on the same folds. Throughput and per-payment score latency come from the same run.
``--prequential`` adds the production protocol on the whole file.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_handbook > bench/out/fraud-handbook.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from finpilot.fraud import (
    BOOK_FEATURES,
    FEATURE_NAMES,
    build_handbook_data,
    read_payments,
    run_handbook,
    run_prequential,
)
from finpilot.fraud._replay._handbook import TEST_STARTS
from finpilot.fraud._replay._stream import summary

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/fraud-handbook/transactions.csv.gz"
PUBLISHED = {
    "xgboost_book_best": {"auc_roc": 0.869, "average_precision": 0.687, "card_precision_at_100": 0.303},
    "xgboost_today_defaults_published": {"auc_roc": 0.851, "average_precision": 0.582, "card_precision_at_100": 0.284},
    "best_possible_card_precision_at_100": 0.419,
}
TARGETS = {"average_precision": 0.75, "card_precision_at_100": 0.32, "tx_per_s": 20_000, "score_latency_p99_ms": 1.0}


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where it ran."""
    import lightgbm
    import sklearn
    import xgboost

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "lightgbm": lightgbm.__version__,
        "xgboost": xgboost.__version__,
        "sklearn": sklearn.__version__,
        "loadavg_1_5_15": list(os.getloadavg()),
    }


def xgboost_baseline(data: Any) -> dict[str, Any]:
    """XGBClassifier() with today's defaults on the book's 15 features, on the 4 test folds."""
    from xgboost import XGBClassifier

    columns = [FEATURE_NAMES.index(name) for name in BOOK_FEATURES]
    reports = []
    for start in TEST_STARTS:
        report, _, _, _ = data.score_fold(start, lambda x, y: XGBClassifier().fit(x, y), columns)
        reports.append(report)
        log(
            f"  xgboost fold {start}: AP {report['average_precision']:.3f} CP@100 {report['card_precision_at_100']:.3f}"
        )
    return {**summary(reports), "folds": reports}


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--latency-samples", type=int, default=20_000)
    parser.add_argument("--prequential", action="store_true", help="also run the prequential protocol")
    args = parser.parse_args()
    started = time.perf_counter()
    log(f"reading {args.csv}")
    t0 = time.perf_counter()
    table = read_payments(args.csv)
    read_s = time.perf_counter() - t0
    log(f"{len(table)} payments read in {read_s:.1f} s; streaming features")
    data = build_handbook_data(table)
    log(f"streamed {data.streamed.streamed} payments in {data.streamed.seconds:.1f} s; model selection and folds")
    report, _, _ = run_handbook(data, latency_samples=args.latency_samples)
    log(f"finpilot: AP {report['average_precision']['mean']:.3f} CP@100 {report['card_precision_at_100']['mean']:.3f}")
    log("xgboost baseline (today's defaults, book features)")
    baseline = xgboost_baseline(data)
    result: dict[str, Any] = {
        "benchmark": "fraud.handbook",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "csv": str(args.csv),
        "csv_read_s": read_s,
        "finpilot": report,
        "xgboost_defaults_book_features": baseline,
        "published": PUBLISHED,
        "targets": TARGETS,
    }
    if args.prequential:
        log("prequential protocol on the whole file")
        result["finpilot_prequential"], _, _ = run_prequential(table, latency_samples=args.latency_samples)
    result["total_s"] = time.perf_counter() - started
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
