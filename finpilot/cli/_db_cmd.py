"""``finpilot db``: create, run and inspect the PostgreSQL primary/standby pair; ``chaos db-primary-down``."""

from __future__ import annotations

import re
import signal
import threading
from types import FrameType
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.markup import escape

from finpilot.audit.kinds import DB_INIT
from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, busy, err, out, print_json, table
from finpilot.cli._runtime_cmd import chaos_app
from finpilot.core import ConfigError, InputError, Settings
from finpilot.heal import (
    DbHealer,
    PatroniClient,
    PatroniHealer,
    PgCluster,
    kill_patroni_leader,
    kill_primary,
    patroni_dsn,
    pg_cluster_for,
)

db_app = typer.Typer(
    help="The PostgreSQL primary and synchronous standby that the healer fails over.", no_args_is_help=True
)
"""The ``db`` command group."""


def _cluster(ctx: typer.Context) -> PgCluster:
    settings = settings_for(ctx)
    if settings.db.ha.mode != "local":
        raise ConfigError(
            "db.ha.mode is patroni: Patroni creates and runs the servers, finpilot only drives its REST API",
            fix="use `finpilot db up` to watch it, or set db.ha.mode: local",
        )
    return pg_cluster_for(settings)


@db_app.command("init")
def db_init(
    ctx: typer.Context,
    ha: Annotated[bool, typer.Option("--ha", help="Create a primary and a synchronous streaming standby.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create the pair with initdb and pg_basebackup on db.ha's ports, and leave both running."""
    if not ha:
        raise InputError(
            "only the high-availability pair can be created here",
            field="--ha",
            fix="run `finpilot db init --ha`; a single server is configured with storage.dsn instead",
        )
    cluster = _cluster(ctx)
    with busy("creating the primary and its synchronous standby"):
        result = cluster.init()
    with ledger_for(ctx) as ledger:
        ledger.append(
            DB_INIT.entry(
                actor=cli_actor(),
                action="init",
                subject="db:pair",
                outcome="ok",
                evidence={**{k: v for k, v in result.items() if k != "dsn"}, "ports": cluster.state()["ports"]},
            )
        )
    if as_json:
        print_json(result)
        return
    out().print(f"primary {result['primary']}, synchronous standby {result['standby']} ({result['took_s']} s)")
    out().print(f"client DSN: {escape(str(result['dsn']))}")


def _refuse_ledger_on_pair(settings: Settings) -> None:
    # The healer writes db.fence before it promotes: a ledger stored on the failing pair could
    # never take that entry, and the failover would stop after fencing.
    dsn = settings.storage.dsn
    if dsn is None or settings.db.ha.mode != "local":
        return
    netloc = urlsplit(dsn).netloc.rpartition("@")[2]
    ports = {int(p) for p in re.findall(r":(\d+)", netloc)}
    if ports & {settings.db.ha.primary_port, settings.db.ha.standby_port}:
        raise ConfigError(
            "the audit ledger (storage.dsn) is on the database pair this healer fails over",
            field="storage.dsn",
            fix="run `db up` with the embedded SQLite ledger (leave storage.dsn out) or a PostgreSQL outside the pair",
        )


@db_app.command("up")
def db_up(
    ctx: typer.Context,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave PostgreSQL running when the healer stops.")
    ] = False,
) -> None:
    """Start the pair and run the failover healer in the foreground until Ctrl+C or SIGTERM.

    With db.ha.mode patroni, Patroni runs the servers: only the healer runs, driving Patroni's REST API.
    """
    settings = settings_for(ctx)
    _refuse_ledger_on_pair(settings)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ledger_for(ctx) as ledger:
            if settings.db.ha.mode == "patroni":
                with PatroniHealer(settings.db.ha, ledger) as watcher:
                    err().print(f"watching Patroni at {escape(', '.join(watcher.urls))}; stop with Ctrl+C")
                    while not stop.wait(0.5):
                        pass
                return
            cluster = pg_cluster_for(settings)
            started = cluster.start()
            err().print(f"primary {started['primary']}, standby {started['standby']}; DSN {escape(cluster.dsn())}")
            try:
                with DbHealer(cluster, ledger):
                    err().print("healer running; stop with Ctrl+C")
                    while not stop.wait(0.5):
                        pass
            finally:
                if not keep_running:
                    cluster.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@db_app.command("down")
def db_down(ctx: typer.Context) -> None:
    """Stop both servers cleanly."""
    _cluster(ctx).stop()
    out().print("stopped")


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Which server is primary, whether each answers, and replication state and lag."""
    settings = settings_for(ctx)
    if settings.db.ha.mode == "patroni":
        client = PatroniClient(settings.db.ha.patroni_urls)
        try:
            cluster = client.cluster()
        finally:
            client.close()
        cluster["dsn"] = patroni_dsn(cluster, settings.db.ha.superuser, settings.db.ha.database)
        if as_json:
            print_json(cluster)
            return
        members = table("member", "role", "state", "host", "port", "lag", title="Patroni members")
        for m in cluster.get("members", []):
            members.add_row(
                m["name"],
                m.get("role", ""),
                m.get("state", ""),
                m.get("host", ""),
                str(m.get("port", "")),
                str(m.get("lag", "")),
            )
        out().print(members)
        out().print(f"client DSN: {escape(cluster['dsn'])}")
        return
    status = _cluster(ctx).status()
    if as_json:
        print_json(status)
        return
    nodes = table("node", "port", "role", "recorded", "fenced", "pid", "lsn", title="Servers")
    for name, node in status["nodes"].items():
        nodes.add_row(
            name,
            str(node["port"]),
            node["role"],
            node["recorded"],
            str(node["fenced"]),
            str(node["pid"] or ""),
            str(node["lsn"] or node["error"] or ""),
        )
    replication = table("standby", "state", "sync", "lag bytes", title=f"Replication from {status['primary']}")
    for row in status["replication"]:
        replication.add_row(row["name"], row["state"], row["sync_state"], str(row["lag_bytes"]))
    out().print(nodes)
    out().print(replication)
    out().print(f"failovers: {status['failovers']}; client DSN: {escape(status['dsn'])}")


@chaos_app.command("db-primary-down")
def chaos_db_primary_down(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """SIGKILL the current primary's postmaster (a crash); the healer must fail over."""
    settings = settings_for(ctx)
    with ledger_for(ctx) as ledger:
        if settings.db.ha.mode == "patroni":
            result = kill_patroni_leader(settings.db.ha, ledger, actor=cli_actor())
        else:
            result = kill_primary(_cluster(ctx), ledger, actor=cli_actor())
    if as_json:
        print_json(result)
    else:
        out().print(f"db-primary-down injected: killed {result['node']} (pid {result['pid']}, port {result['port']})")
