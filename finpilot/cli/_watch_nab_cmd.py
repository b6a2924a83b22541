"""``finpilot watch nab`` and ``finpilot watch detectors``: run a detector over the Numenta
Anomaly Benchmark, or score published outputs; list the registered detectors.

``watch nab --data DIR`` streams every file of the corpus through the detector one row at a time
(files in parallel, ``--jobs``), then scores it with NAB's rules: the three normalised scores,
the threshold of each profile, every file's score and the throughput. ``--score-only RESULTS``
scores a directory of result CSVs instead (ours from ``--results-out``, or another detector's
published ``results/<detector>/``), so both are scored by the same code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.watch import (
    PROFILE_NAMES,
    NabResult,
    detector_names,
    load_corpus,
    make_detector,
    run_nab,
    score_results,
    write_results,
)


def nab_cmd(
    data: Annotated[Path, typer.Option("--data", file_okay=False, help="The NAB directory (data/, labels/, config/).")],
    detector: Annotated[
        str | None, typer.Option("--detector", help="A registered detector (finpilot watch detectors lists them).")
    ] = None,
    score_only: Annotated[
        Path | None,
        typer.Option(
            "--score-only",
            file_okay=False,
            help="Score this directory of result CSVs (<group>/[<detector>_]<name>.csv) instead of running a detector.",
        ),
    ] = None,
    results_out: Annotated[
        Path | None,
        typer.Option("--results-out", file_okay=False, help="Write the run's result CSVs here (NAB layout)."),
    ] = None,
    results_digits: Annotated[
        int | None,
        typer.Option(
            "--results-digits",
            min=1,
            max=17,
            help="Significant digits of the written scores (default: exact; NAB's published files hold 12).",
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Worker processes (default: the number of cores).")
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="Score at this threshold instead of the best one: T for every profile, or PROFILE=T (repeatable),"
            " e.g. a published detector's thresholds.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a detector over the NAB corpus (or score result CSVs) and print its NAB scores."""
    if detector is not None and score_only is None:
        make_detector(detector)  # an unknown name is an input error before any work starts
    corpus = load_corpus(data)
    fixed = _thresholds(threshold or [])
    if score_only is not None:
        with busy(f"scoring {score_only}"):
            result = score_results(corpus, score_only, fixed)
    else:
        with busy(f"running {detector or 'the default detector'} over {corpus.rows} rows"):
            result = run_nab(corpus, detector, jobs, fixed)
        if results_out is not None:
            write_results(results_out, result.detector, corpus, result.scores, results_digits)
    if as_json:
        print_json(result.as_dict())
    else:
        _show(result)


def _thresholds(given: list[str]) -> dict[str, float] | None:
    """``--threshold`` values as a threshold per profile (None: sweep every profile)."""
    if not given:
        return None
    fixed: dict[str, float] = {}
    for text in given:
        profile, _, number = text.rpartition("=")
        names = [profile] if profile else list(PROFILE_NAMES)
        if profile and profile not in PROFILE_NAMES:
            raise typer.BadParameter(f"unknown profile {profile!r}; use one of {', '.join(PROFILE_NAMES)}")
        try:
            value = float(number)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not T or PROFILE=T with a number T") from None
        fixed.update(dict.fromkeys(names, value))
    return fixed


def _show(result: NabResult) -> None:
    console = out()
    files = table("file", "rows", "windows", *PROFILE_NAMES, title=f"NAB per file: {escape(result.detector)}")
    for f in result.score.files:
        files.add_row(f.name, str(f.rows), str(f.windows), *(f"{f.scores[p]:.3f}" for p in PROFILE_NAMES))
    console.print(files)
    summary = table("profile", "score", "threshold", "raw", title=f"NAB score: {escape(result.detector)}")
    for name in PROFILE_NAMES:
        p = result.score.profiles[name]
        summary.add_row(name, f"{p.normalised:.2f}", f"{p.threshold:.15g}", f"{p.raw:.3f}")
    console.print(summary)
    if result.seconds > 0:
        console.print(
            f"{result.points} points in {result.seconds:.2f} s on {result.jobs} job(s): "
            f"{result.points_per_s:,.0f} points/s, {result.points_per_s_per_core:,.0f} points/s per core"
        )


def detectors_cmd(as_json: JsonFlag = False) -> None:
    """List the registered streaming detectors (the names --detector takes)."""
    names = detector_names()
    if as_json:
        print_json({"detectors": names})
        return
    grid = table("detector", "class", title="Registered detectors")
    for name in names:
        grid.add_row(name, type(make_detector(name)).__name__)
    out().print(grid)


def add_nab_commands(app: typer.Typer) -> None:
    """Add the nab commands to the ``watch`` group."""
    app.command("nab")(nab_cmd)
    app.command("detectors")(detectors_cmd)
