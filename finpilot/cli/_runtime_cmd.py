"""``finpilot runtime|node|chaos``: run the local self-healing runtime, drain nodes and inject faults."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, err, out, print_json, table
from finpilot.cli._runbook_runtime import runbook_plan, runbooks_running
from finpilot.core import CheckFailedError, ConfigError
from finpilot.heal import LocalRuntime, RuntimeClient, demo_runtime, mint_demo_payments_token, state_dir_for

runtime_app = typer.Typer(
    help="The local self-healing runtime: node agents, routers, reconciler.", no_args_is_help=True
)
"""The ``runtime`` command group."""
node_app = typer.Typer(help="Nodes of the running local runtime.", no_args_is_help=True)
"""The ``node`` command group."""
chaos_app = typer.Typer(
    help="Inject faults into the running local runtime (every injection is audited).", no_args_is_help=True
)
"""The ``chaos`` command group."""


def _client(ctx: typer.Context) -> RuntimeClient:
    return RuntimeClient(state_dir_for(settings_for(ctx).data_dir))


@runtime_app.command("up")
def runtime_up(ctx: typer.Context) -> None:
    """Run the controller, node agents and routers in the foreground until Ctrl+C or SIGTERM.

    Uses runtime: from the config file; with none, the demo (payments, 2 replicas on 2 private nodes).
    """
    settings = settings_for(ctx)
    runtime = settings.runtime if settings.runtime.services else demo_runtime(settings.data_dir)
    plan = runbook_plan(ctx, settings)  # bad runbooks or backup settings stop here, before anything starts
    if not settings.runtime.services:  # the demo's payments API token, for its replicas and its clients
        mint_demo_payments_token(settings.data_dir)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with (
            ledger_for(ctx) as ledger,
            LocalRuntime(runtime, settings.data_dir, ledger) as local,
            runbooks_running(plan, ledger, local.controller),
        ):
            status = local.controller.status()
            for name, service in status["services"].items():
                where = f"http://{service['router'][0]}:{service['router'][1]}" if service["router"] else "(no router)"
                err().print(f"{escape(name)}: {service['replicas']} replicas, router {escape(where)}")
            err().print(f"controller API {escape(local.api.url)}; stop with Ctrl+C")
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@runtime_app.command("status")
def runtime_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Nodes, services and replicas of the running runtime."""
    status = _client(ctx).status()
    if as_json:
        print_json(status)
        return
    nodes = table("node", "status", "pool", "cordoned", "drain", "conditions", "heartbeat age s", title="Nodes")
    for name, node in status["nodes"].items():
        nodes.add_row(
            name,
            node["status"],
            node["pool"],
            str(node["cordoned"]),
            str(node["drain"] or ""),
            ", ".join(node.get("conditions", [])),
            str(node["heartbeat_age_s"]),
        )
    services = table("service", "ready/desired", "classification", "router", "pending", title="Services")
    for name, service in status["services"].items():
        router = f"{service['router'][0]}:{service['router'][1]}" if service["router"] else ""
        pending = "; ".join(f"{slot}: {why}" for slot, why in service["pending"].items())
        services.add_row(name, f"{service['ready']}/{service['replicas']}", service["classification"], router, pending)
    replicas = table("replica", "node", "port", "pid", "state", "ready", "restarts", "role", title="Replicas")
    for iid, rep in status["replicas"].items():
        replicas.add_row(
            iid,
            rep["node"],
            str(rep["port"]),
            str(rep["pid"] or ""),
            rep["state"],
            str(rep["ready"]),
            str(rep["restarts"]),
            rep["role"],
        )
    for part in (nodes, services, replicas):
        out().print(part)


@runtime_app.command("apply")
def runtime_apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(dir_okay=False, help="finpilot.yaml whose runtime: section to apply.")],
    as_json: JsonFlag = False,
) -> None:
    """Validate a config file and apply its runtime: section; an invalid file changes nothing."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}", path=str(file)) from None
    result = _client(ctx).apply(text, source=str(file))
    if as_json:
        print_json(result)
    else:
        out().print("applied")


@runtime_app.command("rollback")
def runtime_rollback(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Option(help="Refuse unless the last spec change touched this service.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-apply the runtime spec the last apply replaced (audited); each rollback goes one change further back."""
    result = _client(ctx).rollback(actor=cli_actor(), service=service)
    if as_json:
        print_json(result)
        return
    changed = ", ".join(result["services_changed"]) or "nothing"
    out().print(f"rolled back to spec {result['to'][:12]} (changed: {escape(changed)})")


@node_app.command("up")
def node_up(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node lost to `chaos node-down` (or a dead agent) to bring back.")],
    as_json: JsonFlag = False,
) -> None:
    """Start a fresh node agent for NODE; it takes new replicas once its heartbeats arrive (audited)."""
    result = _client(ctx).node_up(node, actor=cli_actor())
    if as_json:
        print_json(result)
    else:
        out().print(f"{escape(node)}: agent restarted")


@node_app.command("drain")
def node_drain(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node to drain.")],
    wait: Annotated[bool, typer.Option(help="Wait until the node is drained (or blocked by a budget).")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.", min=1)] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """Cordon NODE and move its replicas off, never below a service's min_available (exit 1 when blocked)."""
    client = _client(ctx)
    result: dict[str, Any] = client.drain(node, actor=cli_actor())
    deadline = time.monotonic() + timeout
    while wait and time.monotonic() < deadline:
        state = client.status()["nodes"][node]["drain"] or ""
        result = {"node": node, "state": state}
        if state == "drained" or state.startswith("blocked"):
            break
        time.sleep(0.2)
    if as_json:
        print_json(result)
    else:
        out().print(f"{escape(node)}: {escape(str(result['state']))}")
    if str(result["state"]).startswith("blocked"):
        raise CheckFailedError(
            f"drain of {node} is blocked: {result['state'].removeprefix('blocked:')} cannot move without breaking "
            "its disruption budget",
            fix="add a node that admits it, or lower disruption.min_available",
        )


def _chaos(ctx: typer.Context, fault: str, target: str, as_json: bool, ms: float | None = None) -> None:
    result = _client(ctx).chaos(fault, target, actor=cli_actor(), ms=ms)
    if as_json:
        print_json(result)
    else:
        out().print(f"{fault} injected: {escape(', '.join(f'{k}={v}' for k, v in result.items()))}")


@chaos_app.command("kill")
def chaos_kill(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="SERVICE or SERVICE/N (default replica 0).")],
    as_json: JsonFlag = False,
) -> None:
    """SIGKILL one replica; its node agent restarts it."""
    _chaos(ctx, "kill", target, as_json)


@chaos_app.command("hang")
def chaos_hang(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="SERVICE or SERVICE/N (default replica 0).")],
    as_json: JsonFlag = False,
) -> None:
    """SIGSTOP one replica; its liveness probe must catch it."""
    _chaos(ctx, "hang", target, as_json)


@chaos_app.command("latency")
def chaos_latency(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="SERVICE (every replica) or SERVICE/N.")],
    ms: Annotated[float, typer.Argument(help="Added delay in milliseconds; 0 removes it.", min=0)],
    as_json: JsonFlag = False,
) -> None:
    """Delay a service's responses at its router."""
    _chaos(ctx, "latency", target, as_json, ms=ms)


@chaos_app.command("node-down")
def chaos_node_down(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node to kill.")],
    as_json: JsonFlag = False,
) -> None:
    """Kill a node agent and every process it runs."""
    _chaos(ctx, "node-down", node, as_json)
