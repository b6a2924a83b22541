"""The behaviour features on the generator's other fraud patterns: with them against without them.

Generates a handbook-like stream with card testing, account takeover, collusion rings and slow-drip
fraud on top (:class:`finpilot.fraud.Patterns`), streams it once through the feature engine (labels
known 7 days late, as everywhere), then, like one handbook fold, trains LightGBM on 21 days and
tests on the 14 days that start 7 days after them. It compares the model on the first 37 features
(before issue 13) with the model on all of them, per seed: AP and AUC over the test days, and AP
per scenario (that scenario's frauds against the genuine payments). Medians over ``--seeds``.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_patterns --seeds 3 > bench/out/fraud-patterns.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from finpilot.fraud import FEATURE_NAMES, PATTERN_SCENARIOS, FeatureEngine, Patterns, Payment, iter_payments
from finpilot.fraud._models._artifact import PARAM_GRID, predict, train_model
from finpilot.fraud._replay._metrics import auc_and_ap
from finpilot.fraud._traffic._synthetic import SCENARIOS

SETS = {"before (37)": list(range(37)), f"with behaviour ({len(FEATURE_NAMES)})": list(range(len(FEATURE_NAMES)))}
NAMES = {**SCENARIOS, **PATTERN_SCENARIOS}


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def one_seed(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Stream one generated data set and score both feature sets on its test days."""
    patterns = Patterns(args.rate, args.rate, args.rate / 5, args.rate)
    engine = FeatureEngine()
    rows, days, labels, scenarios = [], [], [], []
    for p in iter_payments(
        customers=args.customers,
        terminals=2 * args.customers,
        days=args.days,
        seed=seed,
        compromised_terminals_per_day=0.2 * args.customers / 1000,
        compromised_customers_per_day=0.6 * args.customers / 1000,
        patterns=patterns,
    ):
        payment = Payment(str(p.tx_id), p.seconds + 1_522_540_800, str(p.customer), str(p.terminal), p.amount)
        rows.append(engine.update_and_features(payment))
        engine.observe_label(payment, p.fraud)
        days.append(p.seconds // 86_400)
        labels.append(int(p.fraud))
        scenarios.append(p.scenario)
    x = np.asarray(rows, dtype=np.float32)
    day, y, scen = np.asarray(days), np.asarray(labels, dtype=np.int8), np.asarray(scenarios)
    train = (day >= args.days - 42) & (day < args.days - 21)
    test = day >= args.days - 14
    frauds = {NAMES[s]: int(((scen == s) & test).sum()) for s in NAMES if s}
    out: dict[str, Any] = {"payments": len(rows), "test_frauds": frauds}
    for name, cols in SETS.items():
        model = train_model(x[train][:, cols], y[train], PARAM_GRID[args.params], seed=0)
        scores = predict(model, x[test][:, cols])
        auc, ap = auc_and_ap(y[test], scores)
        per: dict[str, float] = {}
        for s, label in NAMES.items():
            keep = (scen[test] == 0) | (scen[test] == s)
            if s and (scen[test] == s).any():
                per[label] = round(auc_and_ap(y[test][keep], scores[keep])[1], 4)
        out[name] = {"auc": round(auc, 4), "ap": round(ap, 4), "ap_per_scenario": per}
        log(f"seed {seed} {name}: AP {ap:.4f} AUC {auc:.4f} {per}")
    return out


def main() -> None:
    """Parse options, run every seed, print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=80)
    parser.add_argument("--rate", type=float, default=0.6, help="incidents a day per pattern (rings: 1/5)")
    parser.add_argument("--params", type=int, default=0, help="index into PARAM_GRID")
    args = parser.parse_args()
    started = time.time()
    runs = [one_seed(seed, args) for seed in range(args.seeds)]
    summary: dict[str, Any] = {}
    for name in SETS:
        summary[name] = {
            "ap_median": statistics.median(r[name]["ap"] for r in runs),
            "auc_median": statistics.median(r[name]["auc"] for r in runs),
            "ap_per_scenario_median": {
                label: statistics.median(values) if values else None
                for label in NAMES.values()
                if (values := [r[name]["ap_per_scenario"][label] for r in runs if label in r[name]["ap_per_scenario"]])
            },
        }
    print(
        json.dumps(
            {
                "bench": "fraud_patterns",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "args": vars(args),
                "loadavg_1_5_15": list(os.getloadavg()),
                "seconds": round(time.time() - started, 1),
                "summary": summary,
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
