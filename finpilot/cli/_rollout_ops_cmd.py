"""``finpilot rollout start|status|list|promote|abort|pause|resume``: progressive releases on the local runtime.

``start`` runs the rollout's loop in the foreground against the running ``finpilot runtime up``
(same data dir) until it is promoted or rolled back; the other commands read the rollout store
or queue an operator's request that the loop takes within a fraction of a second. Exit codes:
``start`` 0 when promoted, 1 when rolled back or aborted; 2 for bad input.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, err, out, print_json, table
from finpilot.core import CheckFailedError, InputError
from finpilot.deliver import (
    MetricsSampleSource,
    RolloutConfig,
    RolloutEngine,
    RolloutRecord,
    RolloutStore,
    adopt_rollout,
    default_key_path,
    deploy_verifier,
    new_rollout,
    public_key_path,
    store_path,
)
from finpilot.heal import RuntimeClient, state_dir_for
from finpilot.watch import prometheus_query_from_settings


def _store(ctx: typer.Context) -> RolloutStore:
    return RolloutStore(store_path(settings_for(ctx).data_dir))


def _env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(
                f"--set-env {pair!r} is not NAME=VALUE", field="set-env", fix="e.g. --set-env LOG_LEVEL=info"
            )
        env[name.strip()] = value
    return env


def _show(record: RolloutRecord) -> None:
    console = out()
    console.print(
        f"{escape(record.id)}: {record.phase}, {record.config.strategy} on {escape(record.service)}, "
        f"step {record.step + 1}/{len(record.config.steps)}, canary weight {record.weight}%"
    )
    if record.outcome_reason:
        console.print(f"reason: {escape(record.outcome_reason)}")
    if record.analyses:
        grid = table("at", "step", "weight", "verdict", "baseline", "canary", "action", "reason", title="Analyses")
        for a in record.analyses[-10:]:
            grid.add_row(
                f"{a.at:.1f}", str(a.step + 1), f"{a.weight}%", a.verdict,
                str(a.baseline_requests), str(a.canary_requests), a.action, escape(a.reason),
            )  # fmt: skip
        console.print(grid)


def rollout_start(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="The runtime service to release (it needs a router).")],
    release: Annotated[str, typer.Option("--release", help="The release id, e.g. payments-1.4.0.")],
    set_env: Annotated[
        list[str] | None, typer.Option("--set-env", help="NAME=VALUE for the new version (repeatable).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="canary or blue-green (overrides the config).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A rollout config (YAML or JSON).")] = None,
    artifact: Annotated[
        Path | None, typer.Option("--artifact", dir_okay=False, help="The release's artifact; it must verify.")
    ] = None,
    provenance: Annotated[
        Path | None, typer.Option("--provenance", dir_okay=False, help="The artifact's provenance envelope.")
    ] = None,
    signature: Annotated[
        Path | None, typer.Option("--signature", dir_okay=False, help="The artifact's signature envelope.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", dir_okay=False, help="The trusted key (default: the data dir's release-signing.pub.pem)."
        ),
    ] = None,
    require_signature: Annotated[
        bool, typer.Option("--require-signature", help="Refuse unless --artifact's signature verifies.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start a rollout and run it until it is promoted (exit 0) or rolled back (exit 1); Ctrl+C aborts it.

    With ``--artifact`` the artifact must verify against its signature and/or provenance before
    anything is deployed; with ``--require-signature`` (or ``require_signature: true`` in the
    config) a start without a verified signature is refused (exit 1, audited as ``refuse``).
    Run again for an unfinished rollout whose ``rollout start`` died, it takes that rollout over.
    """
    settings = RolloutConfig.load(config) if config is not None else RolloutConfig()
    if require_signature:
        settings = settings.model_copy(update={"require_signature": True})
    data_dir = settings_for(ctx).data_dir
    trusted = public_key
    if trusted is None and (artifact is not None or settings.require_signature):
        default = public_key_path(default_key_path(data_dir))
        trusted = default if default.exists() else None
    verify = deploy_verifier(
        artifact,
        provenance=provenance,
        signature=signature,
        public_key=trusted,
        require_signature=settings.require_signature,
    )
    if strategy is not None:
        if strategy not in ("canary", "blue-green"):
            raise InputError(f"--strategy {strategy!r}", field="strategy", fix="use canary or blue-green")
        settings = settings.model_copy(update={"strategy": strategy})
    env = _env(set_env or [])
    platform = RuntimeClient(state_dir_for(data_dir))
    store = _store(ctx)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # With watch.prometheus_url set, the analysis reads both arms from Prometheus (the one query
    # API the console and the judge read); otherwise from the router's own sample rings.
    query = prometheus_query_from_settings(settings_for(ctx).watch)
    samples = None if query is None else MetricsSampleSource(query)
    try:
        with ledger_for(ctx) as ledger:
            adopted = adopt_rollout(store, ledger.append, service=service, release=release, actor=cli_actor())
            record = adopted or new_rollout(
                platform, store, ledger.append, service=service, release=release, env=env, config=settings,
                actor=cli_actor(), verify=verify,
            )  # fmt: skip
            if not as_json:
                err().print(f"rollout {escape(record.id)} started; stop it with Ctrl+C (aborts)")
            engine = RolloutEngine(record, platform, store, ledger.append, samples=samples)
            aborted = False
            while not engine.record.terminal:
                if stop.is_set() and not aborted:
                    store.request(record.id, "abort", cli_actor())
                    aborted = True
                engine.tick()
                stop.wait(0.2)
            record = engine.record
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if query is not None:
            query.close()
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        _show(record)
    if record.phase != "promoted":
        raise CheckFailedError(f"rollout {record.id} ended {record.phase}: {record.outcome_reason}")


def rollout_status(
    ctx: typer.Context,
    rollout: Annotated[str | None, typer.Argument(help="The rollout id (the release); default: the latest.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """One rollout: phase, step, weight, the analyses with their statistics, the actions."""
    store = _store(ctx)
    if rollout is None:
        records = store.all()
        if not records:
            raise InputError("there is no rollout yet", field="rollout", fix="start one with `finpilot rollout start`")
        record = records[0]
    else:
        record = store.get(rollout)
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        _show(record)


def rollout_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every rollout, the most recent first."""
    rows = [r.summary() for r in _store(ctx).all()]
    if as_json:
        print_json({"rollouts": rows})
        return
    grid = table("id", "service", "strategy", "phase", "step", "weight", "last verdict", title="Rollouts")
    for r in rows:
        grid.add_row(
            escape(r["id"]), escape(r["service"]), r["strategy"], r["phase"], str(r["step"] + 1),
            f"{r['weight']}%", str(r["last_verdict"] or "-"),
        )  # fmt: skip
    out().print(grid)


def _request(ctx: typer.Context, rollout: str, action: Any, as_json: bool) -> None:
    record = _store(ctx).request(rollout, action, cli_actor())
    answer = {"id": record.id, "requested": action, "phase": record.phase}
    if as_json:
        print_json(answer)
    else:
        out().print(f"{escape(record.id)}: {action} requested (now {record.phase}); the rollout's loop applies it")


RolloutId = Annotated[str, typer.Argument(help="The rollout id (the release id).")]


def rollout_promote(ctx: typer.Context, rollout: RolloutId, as_json: JsonFlag = False) -> None:
    """Promote now: the canary becomes the stable version (blue-green: switch, or finish after the switch)."""
    _request(ctx, rollout, "promote", as_json)


def rollout_abort(ctx: typer.Context, rollout: RolloutId, as_json: JsonFlag = False) -> None:
    """Abort: canary weight to 0 at once, then the arms are removed (audited as the operator's action)."""
    _request(ctx, rollout, "abort", as_json)


def rollout_pause(ctx: typer.Context, rollout: RolloutId, as_json: JsonFlag = False) -> None:
    """Pause: hold the current weights, judge nothing, until resumed, promoted or aborted."""
    _request(ctx, rollout, "pause", as_json)


def rollout_resume(ctx: typer.Context, rollout: RolloutId, as_json: JsonFlag = False) -> None:
    """Resume a paused rollout: the current step starts its time again."""
    _request(ctx, rollout, "resume", as_json)


def add_rollout_ops(rollout_app: typer.Typer) -> None:
    """Register the rollout operations on the ``rollout`` group (which the judge's ``rollout judge`` shares)."""
    rollout_app.command("start")(rollout_start)
    rollout_app.command("status")(rollout_status)
    rollout_app.command("list")(rollout_list)
    rollout_app.command("promote")(rollout_promote)
    rollout_app.command("abort")(rollout_abort)
    rollout_app.command("pause")(rollout_pause)
    rollout_app.command("resume")(rollout_resume)
