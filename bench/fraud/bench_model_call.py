"""One model call, the way the live scorer makes it: LightGBM against compiled forms of the same model.

Candidates, each scoring one float64 row per call (its own input conversion included):
``lightgbm`` (``Booster.predict``, what the scorer called before), ``finpilot_compiled`` (lleaves'
front end and llvmlite's LLVM back end, what the scorer calls now), ``lleaves`` (its own
``Model.compile``; fails on llvmlite >= 0.45, reported as such), ``treelite_gtil`` (Treelite's
interpreter, no compile), ``tl2cgen`` (C code built by gcc) and ``onnxruntime`` (the model converted
by onnxmltools). Two models: the demo's (``finpilot up``) and a handbook-sized one trained on one
fold of the handbook data. For each: per-call p50/p99/p99.9/mean, compile time, compiled size,
batch time over the test rows and the largest score difference from LightGBM over every test row.
For the demo model, also the whole ``Scorer.score_one`` (feature update included) with each.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.fraud.bench_model_call > bench/out/fraud-model-call.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from finpilot.fraud import build_handbook_data, read_payments
from finpilot.fraud._features._engine import FeatureConfig, FeatureEngine
from finpilot.fraud._models._artifact import PARAM_GRID, train_model
from finpilot.fraud._models._compiled import CompiledModel, compile_model
from finpilot.fraud._models._train import train_artifact
from finpilot.fraud._replay._handbook import TEST_STARTS
from finpilot.fraud._replay._stream import stream_features

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/fraud-handbook/transactions.csv.gz"
TARGET_MAX_DIFF = 1e-6

Predict = Callable[[np.ndarray], float]
Candidate = tuple[Predict, Callable[[np.ndarray], np.ndarray], dict[str, Any]]


def log(*parts: object) -> None:
    """Progress goes to stderr; stdout carries the one JSON object."""
    print(*parts, file=sys.stderr, flush=True)


def _lightgbm(booster: Any, model_text: str, work: Path) -> Candidate:
    def one(row: np.ndarray) -> float:
        return float(booster.predict(row.reshape(1, -1), num_threads=1)[0])

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)

    return one, batch, {"compile_s": 0.0, "size_bytes": len(model_text.encode())}


def _finpilot_compiled(booster: Any, model_text: str, work: Path) -> Candidate:
    t0 = time.perf_counter()
    code = compile_model(model_text)
    compile_s = time.perf_counter() - t0
    model = CompiledModel(code, booster.num_feature())
    return model.predict_one, model.predict, {"compile_s": compile_s, "size_bytes": len(code), "needs": "llvmlite"}


def _lleaves(booster: Any, model_text: str, work: Path) -> Candidate:
    import lleaves

    path = work / "model.txt"
    path.write_text(model_text)
    model = lleaves.Model(str(path))
    t0 = time.perf_counter()
    model.compile(cache=str(work / "lleaves.o"), fblocksize=model.num_trees())
    compile_s = time.perf_counter() - t0

    def one(row: np.ndarray) -> float:
        return float(model.predict(row.reshape(1, -1), n_jobs=1)[0])

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(rows, n_jobs=1), dtype=np.float64)

    return one, batch, {"compile_s": compile_s, "size_bytes": (work / "lleaves.o").stat().st_size}


def _treelite_gtil(booster: Any, model_text: str, work: Path) -> Candidate:
    import treelite

    model = treelite.frontend.from_lightgbm(booster)

    def one(row: np.ndarray) -> float:
        return float(np.ravel(treelite.gtil.predict(model, row.reshape(1, -1), nthread=1))[0])

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.ravel(treelite.gtil.predict(model, rows, nthread=1)).astype(np.float64)

    return one, batch, {"compile_s": 0.0, "size_bytes": len(model.serialize_bytes())}


def _tl2cgen(booster: Any, model_text: str, work: Path) -> Candidate:
    import tl2cgen
    import treelite

    model = treelite.frontend.from_lightgbm(booster)
    lib = work / "model.so"
    t0 = time.perf_counter()
    # parallel_comp splits the C source so that gcc's time stays sane on big forests.
    tl2cgen.export_lib(model, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 8}, nthread=2)
    compile_s = time.perf_counter() - t0
    predictor = tl2cgen.Predictor(str(lib), nthread=1)

    def one(row: np.ndarray) -> float:
        return float(np.ravel(predictor.predict(tl2cgen.DMatrix(row.reshape(1, -1))))[0])

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.ravel(predictor.predict(tl2cgen.DMatrix(rows))).astype(np.float64)

    return one, batch, {"compile_s": compile_s, "size_bytes": lib.stat().st_size, "needs": "a C compiler (gcc)"}


def _onnxruntime(booster: Any, model_text: str, work: Path) -> Candidate:
    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    t0 = time.perf_counter()
    onx = onnxmltools.convert_lightgbm(
        booster, initial_types=[("input", FloatTensorType([None, booster.num_feature()]))], zipmap=False
    )
    blob = onx.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    compile_s = time.perf_counter() - t0
    name = session.get_inputs()[0].name
    out = session.get_outputs()[-1].name  # probabilities, (n, 2)

    def one(row: np.ndarray) -> float:
        return float(session.run([out], {name: row.astype(np.float32).reshape(1, -1)})[0][0, 1])

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.asarray(session.run([out], {name: rows.astype(np.float32)})[0][:, 1], dtype=np.float64)

    return one, batch, {"compile_s": compile_s, "size_bytes": len(blob), "input": "float32 (ONNX tree ensembles)"}


CANDIDATES: dict[str, Callable[[Any, str, Path], Candidate]] = {
    "lightgbm": _lightgbm,
    "finpilot_compiled": _finpilot_compiled,
    "lleaves": _lleaves,
    "treelite_gtil": _treelite_gtil,
    "tl2cgen": _tl2cgen,
    "onnxruntime": _onnxruntime,
}


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
    return {"p50_us": float(p50), "p99_us": float(p99), "p99_9_us": float(p999), "mean_us": float(us.mean())}


def measure(booster: Any, rows: np.ndarray, *, calls: int, rounds: int, names: list[str]) -> dict[str, Any]:
    """Every candidate on one model: build it, check it against LightGBM on ``rows``, time single calls."""
    model_text = booster.model_to_string()
    reference = np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)
    built: dict[str, tuple[Predict, dict[str, Any]]] = {}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            work = Path(tmp) / name
            work.mkdir()
            log(f"  {name}: building")
            try:
                one, batch, info = CANDIDATES[name](booster, model_text, work)
                t0 = time.perf_counter()
                scores = batch(rows)
                info["batch_s"] = time.perf_counter() - t0
                info["batch_rows"] = len(rows)
                info["max_abs_diff_vs_lightgbm"] = float(np.abs(scores - reference).max())
                info["identical_within_1e-6"] = info["max_abs_diff_vs_lightgbm"] <= TARGET_MAX_DIFF
                sample = rows[: min(len(rows), 2000)]
                single = np.array([one(np.ascontiguousarray(r)) for r in sample])
                info["max_abs_diff_single_row"] = float(np.abs(single - reference[: len(sample)]).max())
            except Exception as exc:  # a candidate that cannot be built is a finding, not a crash
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
                log(f"  {name}: {results[name]['error']}")
                continue
            built[name] = (one, info)
            results[name] = info
        # Rounds interleave the candidates, so a burst of load from a neighbour hits them all alike.
        samples: dict[str, list[int]] = {name: [] for name in built}
        per_round = max(1, calls // rounds)
        singles = [np.ascontiguousarray(r) for r in rows[: min(len(rows), per_round)]]
        for _ in range(rounds):
            for name, (one, _info) in built.items():
                for r in singles[:50]:  # warm-up
                    one(r)
                taken = samples[name]
                for i in range(per_round):
                    r = singles[i % len(singles)]
                    t0 = time.perf_counter_ns()
                    one(r)
                    taken.append(time.perf_counter_ns() - t0)
        for name in built:
            results[name].update(_percentiles(samples[name]), calls=len(samples[name]))
    base = results.get("lightgbm", {}).get("p99_us")
    for info in results.values():
        if base and "p99_us" in info:
            info["p99_vs_lightgbm"] = info["p99_us"] / base
    return results


def scorer_path(table: Any, artifact: Any) -> dict[str, Any]:
    """``Scorer.score_one`` (feature update, model, rules) on the whole stream, LightGBM and compiled alternating.

    Two scorers with their own feature engines see the same payments in the same order; each
    payment is scored by one, then the other, so load hits both alike.
    """
    import dataclasses

    from finpilot.fraud import Payment, Scorer

    code = compile_model(artifact.booster.model_to_string())
    compiled = dataclasses.replace(artifact, compiled=CompiledModel(code, artifact.booster.num_feature()))
    scorers = {"lightgbm": Scorer(FeatureEngine(), artifact), "finpilot_compiled": Scorer(FeatureEngine(), compiled)}
    timings: dict[str, list[int]] = {name: [] for name in scorers}
    max_diff = 0.0
    for i in range(len(table)):
        payment = Payment(
            table.tx_ids[i], int(table.times[i]), table.customers[i], table.terminals[i], float(table.amounts[i])
        )
        scores = []
        for name, scorer in scorers.items():
            t0 = time.perf_counter_ns()
            verdict = scorer.score_one(payment)
            timings[name].append(time.perf_counter_ns() - t0)
            scores.append(verdict.model_score)
            scorer.engine.observe_label(payment, bool(table.frauds[i]))
        max_diff = max(max_diff, abs(scores[0] - scores[1]))
    out: dict[str, Any] = {name: {**_percentiles(t), "calls": len(t)} for name, t in timings.items()}
    out["max_abs_diff_model_score"] = max_diff
    return out


def demo_model() -> tuple[Any, np.ndarray, dict[str, Any]]:
    """The demo's model as ``finpilot up`` trains it, and the features of every payment it saw."""
    from finpilot.cli._demo import write_demo_history

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "history.csv"
        write_demo_history(path)
        table = read_payments(path)
    artifact = train_artifact(table)
    streamed = stream_features(table, FeatureEngine(FeatureConfig()), np.ones(len(table), dtype=bool))
    features = np.asarray(streamed.features, dtype=np.float64)
    info = {"trees": artifact.booster.num_trees(), "params": dict(artifact.params), "rows_checked": "every payment"}
    log("  Scorer.score_one over the demo stream, LightGBM and compiled")
    info["scorer_score_one"] = scorer_path(table, artifact)
    return artifact.booster, features, info


def handbook_model(csv: Path, params_index: int) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """A model trained on the last handbook fold; the rows are the test weeks of all 4 test folds."""
    t0 = time.perf_counter()
    data = build_handbook_data(read_payments(csv))
    log(f"  handbook features in {time.perf_counter() - t0:.0f} s")
    params = PARAM_GRID[params_index]
    train, _test, _keep = data.fold(TEST_STARTS[-1])
    x = data.streamed.features
    t0 = time.perf_counter()
    booster = train_model(x[train], data.labels[train], params)
    train_s = time.perf_counter() - t0
    tests = np.unique(np.concatenate([data.fold(s)[1] for s in TEST_STARTS]))
    info = {
        "trees": booster.num_trees(),
        "params": dict(params),
        "train_fold": TEST_STARTS[-1],
        "train_rows": len(train),
        "train_s": train_s,
        "rows_checked": "the test weeks of the 4 handbook test folds",
    }
    return booster, np.asarray(x[tests], dtype=np.float64), info


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--calls", type=int, default=20_000, help="single-row calls per candidate and model")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--params-index", type=int, default=4, help="PARAM_GRID entry of the handbook model")
    parser.add_argument("--models", default="demo,handbook")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args()
    names = args.candidates.split(",")
    # tl2cgen's C++ logs to file descriptor 1: until the end, descriptor 1 is stderr, so stdout carries only the JSON.
    sys.stdout.flush()
    stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "fraud.model_call",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()},
        "models": {},
    }
    for model in args.models.split(","):
        log(f"{model}: training")
        booster, rows, info = demo_model() if model == "demo" else handbook_model(args.csv, args.params_index)
        log(f"{model}: {info['trees']} trees, {len(rows)} rows to check")
        info["rows"] = len(rows)
        info["candidates"] = measure(booster, rows, calls=args.calls, rounds=args.rounds, names=names)
        result["models"][model] = info
    result["machine"]["load_after"] = os.getloadavg()
    result["total_s"] = time.perf_counter() - started
    json.dump(result, stdout, indent=2, default=str)
    stdout.write("\n")
    stdout.flush()


if __name__ == "__main__":
    main()
