"""``finpilot watch``: alert rules, active alerts, silences and sinks.

``watch alerts`` lists the alerts the manager keeps (pending, firing, recently resolved) with what
mutes them; ``watch alert-rules`` validates and lists the rules; ``watch silence add|list|expire``
manage silences (each an audit entry); ``watch alert-test --sink NAME`` sends one test alert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, out, print_json, table
from finpilot.watch import AlertManager, Silence, duration_seconds, load_rules

silence_app = typer.Typer(help="Silences: mute matching alerts for a while.", no_args_is_help=True)
"""The ``watch silence`` group."""


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _silence_json(silence: Silence, manager: AlertManager) -> dict[str, object]:
    return silence.to_json(manager.now())


def alerts_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List active alerts (pending, firing, and resolved ones still kept), with silences and inhibitions."""
    manager = AlertManager.from_settings(settings_for(ctx), with_sinks=False)
    try:
        views = manager.active_alerts()
        pending = manager.pending_deliveries()
    finally:
        manager.close()
    if as_json:
        print_json({"alerts": [v.to_json() for v in views], "pending_deliveries": pending})
        return
    grid = table("state", "alert", "severity", "series", "value", "since", "muted", title="alerts", no_wrap=("state",))
    for view in views:
        alert = view.alert
        muted = ", ".join([*(f"silence {s[:8]}" for s in view.silenced_by), *(["inhibited"] if view.inhibited else [])])
        value = "-" if alert.value is None else f"{alert.value:.4g}"
        grid.add_row(
            alert.state,
            escape(alert.name),
            alert.severity,
            escape(alert.series),
            value,
            _when(alert.active_since),
            muted,
        )
    out().print(grid)
    if pending:
        out().print(f"{len(pending)} notification(s) waiting for a retry")


def alert_rules_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Validate and list the alert rules (watch.alerts.rules_dir and inline rules)."""
    alerts = settings_for(ctx).watch.alerts
    rules = load_rules(alerts.rules_dir, alerts.rules)
    if as_json:
        print_json({"rules": [{"id": r.rule_id, **r.model_dump(mode="json", by_alias=True)} for r in rules]})
        return
    grid = table("rule", "type", "severity", "what", title="alert rules", no_wrap=("rule",))
    for rule in rules:
        what = getattr(getattr(rule, "query", None), "selector", None) or getattr(rule, "series", "")
        grid.add_row(escape(rule.rule_id), rule.type, rule.labels["severity"], escape(str(what)))
    out().print(grid)


def alert_test_cmd(
    ctx: typer.Context,
    sink: Annotated[str, typer.Option("--sink", help="The sink's name (watch.alerts.sinks).")],
    as_json: JsonFlag = False,
) -> None:
    """Send one test alert to a sink now; exit 1 when it does not take it."""
    manager = AlertManager.from_settings(settings_for(ctx))
    try:
        outcome = manager.send_test(sink)
    finally:
        manager.close()
    if as_json:
        print_json(outcome)
        return
    out().print(f"test alert delivered to {escape(sink)} ({outcome['type']}, HTTP {outcome['status_code']})")


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    match: Annotated[
        list[str], typer.Option("--match", help="A label matcher: name=value, name!=value, name=~re, name!~re.")
    ],
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")],
    duration: Annotated[str, typer.Option("--duration", help="How long, e.g. 2h or 30m.")] = "2h",
    as_json: JsonFlag = False,
) -> None:
    """Mute the alerts that match every --match for --duration."""
    seconds = duration_seconds(duration, field="--duration")
    with ledger_for(ctx) as ledger:
        manager = AlertManager.from_settings(settings_for(ctx), record=ledger.append, with_sinks=False)
        try:
            silence = manager.add_silence(match, created_by=cli_actor(), comment=comment, duration_s=seconds)
            data = _silence_json(silence, manager)
        finally:
            manager.close()
    if as_json:
        print_json({"silence": data})
        return
    out().print(f"silence {silence.id} set until {_when(silence.ends_at)} UTC: {escape(', '.join(match))}")


@silence_app.command("list")
def silence_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List silences (active and pending; --all adds expired ones)."""
    manager = AlertManager.from_settings(settings_for(ctx), with_sinks=False)
    try:
        found = [_silence_json(s, manager) for s in manager.silences(include_expired=show_all)]
    finally:
        manager.close()
    if as_json:
        print_json({"silences": found})
        return
    grid = table("id", "state", "matchers", "ends", "by", "comment", title="silences", no_wrap=("id",))
    for item in found:
        matchers: Any = item["matchers"]
        ends: Any = item["ends_at"]
        grid.add_row(
            str(item["id"]),
            str(item["state"]),
            escape(", ".join(matchers)),
            _when(ends),
            escape(str(item["created_by"])),
            escape(str(item["comment"])),
        )
    out().print(grid)


@silence_app.command("expire")
def silence_expire(
    ctx: typer.Context,
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id (see silence list).")],
    as_json: JsonFlag = False,
) -> None:
    """End a silence now."""
    with ledger_for(ctx) as ledger:
        manager = AlertManager.from_settings(settings_for(ctx), record=ledger.append, with_sinks=False)
        try:
            silence = manager.expire_silence(silence_id, by=cli_actor())
            data = _silence_json(silence, manager)
        finally:
            manager.close()
    if as_json:
        print_json({"silence": data})
        return
    out().print(f"silence {silence.id} expired")


def add_alert_commands(app: typer.Typer) -> None:
    """Add the alert commands to the ``watch`` group."""
    app.command("alerts")(alerts_cmd)
    app.command("alert-rules")(alert_rules_cmd)
    app.command("alert-test")(alert_test_cmd)
    app.add_typer(silence_app, name="silence")
