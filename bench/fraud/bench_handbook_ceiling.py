"""How high AP and CP@100 can go under the handbook protocol, fold by fold, from the labels alone.

Under the protocol a label is known 7 days after its payment. A compromised terminal (the data
set's scenario 2) turns every payment there into fraud, and nothing in a payment shows it (same
customers, same amounts, same hours) until the first of those frauds is known. So a scenario-2
fraud made before any fraud of the same compromise is known at that terminal carries no signal
any model could use: it can only rank at random among genuine payments.

This bench counts those frauds in each fold's test rows (after the protocol's removal of known
compromised cards) and gives the **ceiling**: the expected AP and CP@100 of a model that ranks
every other fraud first and these at random (AP) or by how many payments their card made that day
(CP@100, the only label-free hint there is), mean of ``--draws`` random tie-breaks. The
``TX_FRAUD_SCENARIO`` column is read here for this analysis only; no model ever sees it.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_handbook_ceiling > bench/out/fraud-handbook-ceiling.json
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from finpilot.fraud import build_handbook_data, read_payments
from finpilot.fraud._replay._handbook import DELAY_DAYS, TEST_STARTS, VALIDATION_STARTS, HandbookData
from finpilot.fraud._replay._metrics import auc_and_ap, card_precision_at_k

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/fraud-handbook/transactions.csv.gz"
TARGETS = {"average_precision": 0.75, "card_precision_at_100": 0.32}
COMPROMISED_TERMINAL = 2


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def read_scenarios(path: Path) -> npt.NDArray[np.int8]:
    """The ``TX_FRAUD_SCENARIO`` column, in file order (the same order as ``read_payments``)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    column = [name.strip() for name in next(reader)].index("TX_FRAUD_SCENARIO")
    return np.array([int(row[column]) for row in reader if row], dtype=np.int8)


def blind_frauds(data: HandbookData, scenarios: npt.NDArray[np.int8]) -> npt.NDArray[np.bool_]:
    """Per table row: a compromised-terminal fraud made before any fraud of its run there was known.

    A run is a terminal's consecutive frauds (no genuine payment between them); its first fraud is
    known ``DELAY_DAYS`` after it was made.
    """
    table = data.table
    terminals = np.array(table.terminals)
    order = np.lexsort((table.times, terminals))
    blind = np.zeros(len(table), dtype=np.bool_)
    delay_s = DELAY_DAYS * 86_400
    run_start: int | None = None
    previous = None
    for i in order.tolist():
        if terminals[i] != previous:
            previous, run_start = terminals[i], None
        if table.frauds[i] != 1:
            run_start = None
            continue
        if run_start is None:
            run_start = int(table.times[i])
        if scenarios[i] == COMPROMISED_TERMINAL and run_start > int(table.times[i]) - delay_s:
            blind[i] = True
    return blind


def fold_ceiling(data: HandbookData, blind: npt.NDArray[np.bool_], start: str, draws: int) -> dict[str, Any]:
    """The blind frauds of one fold's test rows and the expected metrics of the best possible ranking."""
    _, test, keep = data.fold(start)
    rows = data.streamed.rows[test][keep]
    labels = data.labels[test][keep]
    hidden = blind[rows]
    days = data.days_of_rows[rows]
    cards = [data.table.customers[i] for i in rows.tolist()]
    # The one label-free hint about a blind fraud: a card that pays more often in a day passes more
    # terminals, so it is likelier to meet a compromised one. Ranking the rest of a day's cards by
    # that (ties at random) is the best card ranking the data allows for them.
    _, card_index = np.unique(np.array(cards), return_inverse=True)
    key = days.astype(np.int64) * (int(card_index.max()) + 1) + card_index
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    per_day = counts[inverse].astype(np.float64)
    visible = (labels == 1) & ~hidden
    rng = np.random.default_rng(0)
    aps, cps = [], []
    for _ in range(draws):
        noise = rng.random(len(rows))
        aps.append(auc_and_ap(labels, np.where(visible, 2.0, noise))[1])
        by_count = np.where(visible, 1e9, per_day + noise)
        cps.append(card_precision_at_k(days, cards, labels, by_count, 100)[0])
    frauds = int(labels.sum())
    # The same measure with every fraud ranked first: the card-precision bound that ignores the delay.
    every = card_precision_at_k(days, cards, labels, np.where(labels == 1, 2.0, 0.0), 100)[0]
    return {
        "test_start": str(dt.date(1970, 1, 1) + dt.timedelta(days=int(days.min()))),
        "test_payments": len(rows),
        "frauds": frauds,
        "blind_frauds": int(hidden.sum()),
        "blind_share": float(hidden.sum() / frauds) if frauds else 0.0,
        "ceiling_average_precision": statistics.fmean(aps),
        "ceiling_card_precision_at_100": statistics.fmean(cps),
        "every_fraud_first_card_precision_at_100": every,
    }


def main() -> None:
    """Run the analysis and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--draws", type=int, default=20, help="random placements of the blind frauds per fold")
    args = parser.parse_args()
    log(f"reading {args.csv}")
    table = read_payments(args.csv)
    scenarios = read_scenarios(args.csv)
    data = build_handbook_data(table)
    blind = blind_frauds(data, scenarios)
    result: dict[str, Any] = {
        "benchmark": "fraud.handbook_ceiling",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "csv": str(args.csv),
        "targets": TARGETS,
    }
    for name, starts in (("validation", VALIDATION_STARTS), ("test", TEST_STARTS)):
        folds = [fold_ceiling(data, blind, start, args.draws) for start in starts]
        for fold in folds:
            log(
                f"  {name} {fold['test_start']}: blind {fold['blind_frauds']}/{fold['frauds']} "
                f"ceiling AP {fold['ceiling_average_precision']:.3f} CP@100 {fold['ceiling_card_precision_at_100']:.3f}"
            )
        result[name] = {
            "folds": folds,
            "mean_blind_share": statistics.fmean(f["blind_share"] for f in folds),
            "mean_ceiling_average_precision": statistics.fmean(f["ceiling_average_precision"] for f in folds),
            "mean_ceiling_card_precision_at_100": statistics.fmean(f["ceiling_card_precision_at_100"] for f in folds),
            "mean_every_fraud_first_card_precision_at_100": statistics.fmean(
                f["every_fraud_first_card_precision_at_100"] for f in folds
            ),
        }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
