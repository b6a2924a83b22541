"""``finpilot rollout``: progressive releases; this module holds the group and ``rollout judge``.

Other commands join the group through a function that receives it (the rollout operations add
``start``, ``status``, ``promote``... with ``add_rollout_ops(rollout_app)``), so this module does
not need to know them.

``rollout judge`` exits 0 when the canary passes, 1 when it fails, 3 when the verdict is
inconclusive (too few requests, or a score between the marginal and pass scores) and 2 on bad
input, so a pipeline step can tell "roll back" from "wait and judge again".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for
from finpilot.cli._errors import EXIT_FAILED, EXIT_OK
from finpilot.cli._output import JsonFlag, out, print_json, table
from finpilot.cli._rollout_ops_cmd import add_rollout_ops
from finpilot.deliver import (
    JudgeConfig,
    Judgement,
    Samples,
    SampleSet,
    analysis_entry,
    check_release,
    file_digest,
    judge,
    next_step,
)

EXIT_INCONCLUSIVE = 3
"""``rollout judge``: the verdict is inconclusive (not enough data, or a marginal score)."""

EXIT_FOR_VERDICT = {"pass": EXIT_OK, "fail": EXIT_FAILED, "inconclusive": EXIT_INCONCLUSIVE}
"""The exit code of each verdict."""

rollout_app = typer.Typer(
    help="Progressive releases: judge a canary against its baseline, and run rollouts.",
    no_args_is_help=True,
)
"""The ``rollout`` command group."""


def judgement_json(judgement: Judgement, config: JudgeConfig) -> dict[str, object]:
    """The one JSON shape of a judgement, with the step the config says comes next."""
    data = judgement.model_dump(mode="json")
    data["step"] = next_step(judgement, config, 0)
    return data


@rollout_app.command("judge")
def judge_cmd(
    ctx: typer.Context,
    baseline: Annotated[Path, typer.Option("--baseline", dir_okay=False, help="The baseline's samples CSV.")],
    canary: Annotated[Path, typer.Option("--canary", dir_okay=False, help="The canary's samples CSV.")],
    config_file: Annotated[
        Path | None,
        typer.Option("--config", dir_okay=False, help="A judge config (YAML or JSON); default: the built-in defaults."),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option("--release", help="Record the analysis in the audit ledger as deliver.analysis of this release."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Judge a canary against its baseline: exit 0 pass, 1 fail, 3 inconclusive, 2 bad input.

    Samples CSV: 'timestamp,latency_ms,error' then optional 0/1 columns (payment_ok, declined), one
    row per request in time order.
    """
    check_release(release)
    config = JudgeConfig.load(config_file) if config_file is not None else JudgeConfig()
    base, can = Samples.from_csv(baseline), Samples.from_csv(canary)
    judgement = judge(base, can, config)
    if release is not None:
        files = tuple((str(p), file_digest(p)) for p in (baseline, canary))
        extra = ((str(config_file), file_digest(config_file)),) if config_file is not None else ()
        found = SampleSet(base, can, f"csv:{baseline},{canary}", files)
        entry = analysis_entry(
            judgement, found, config, actor=cli_actor(), source="cli", rollout=None, release=release, extra_files=extra
        )
        with ledger_for(ctx) as ledger:
            ledger.append(entry)
    if as_json:
        print_json(judgement_json(judgement, config))
    else:
        _show(judgement)
    raise typer.Exit(EXIT_FOR_VERDICT[judgement.verdict])


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _show(judgement: Judgement) -> None:
    console = out()
    grid = table(
        "metric", "outcome", "baseline", "canary", "effect", "p", "p (Holm)", "test", title="Canary against baseline"
    )
    for m in judgement.metrics:
        name = f"{m.name} (critical)" if m.critical else m.name
        grid.add_row(
            name,
            m.outcome,
            _number(m.baseline),
            _number(m.canary),
            _number(m.effect_size),
            _number(m.p_value, 3),
            _number(m.p_adjusted, 3),
            m.test or escape(m.reason),
        )
    if judgement.metrics:
        console.print(grid)
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[judgement.verdict]  # nosec B105 - colours
    console.print(
        f"[bold {colour}]{judgement.verdict}[/] (score {judgement.score:g}; "
        f"{judgement.baseline_requests} baseline, {judgement.canary_requests} canary requests): "
        f"{escape(judgement.reason)}"
    )


# Registered last so that ``judge`` comes first in ``finpilot rollout --help``.
add_rollout_ops(rollout_app)
