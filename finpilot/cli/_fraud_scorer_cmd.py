"""``finpilot fraud scorer`` and ``finpilot fraud router``: the processes behind ``up``'s ``fraud scoring:`` URL.

Both are started by ``finpilot up`` (:class:`~finpilot.cli._fraud_fleet.ScorerFleet`) and are
hidden from the help: a scorer serves the customers its place on the ring gives it and follows
the ledger for the rest; the router sends each payment to its customer's scorer.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from finpilot.cli._context import ledger_for, settings_for
from finpilot.cli._token_cmd import token_store_for
from finpilot.core import InputError

_log = logging.getLogger("finpilot.fraud")


def _exit_with_parent() -> None:
    """SIGTERM this process once its parent (``finpilot up``) is gone, so a killed ``up`` leaves no orphans."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def scorer(
    ctx: typer.Context,
    index: Annotated[int, typer.Option("--index", min=0, help="This scorer's place on the ring (0 .. scorers-1).")],
    scorers: Annotated[int, typer.Option("--scorers", min=1, max=64, help="How many scorers share the customers.")],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port on 127.0.0.1.")],
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", file_okay=False, help="Overrides fraud.model_dir.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (the router reaches it here).")] = "127.0.0.1",
) -> None:
    """Run one HTTP fraud scorer until SIGTERM: restore its partition (snapshot + ledger), then serve."""
    from finpilot.console import ScorerApp, serve_scorer
    from finpilot.fraud import FraudService, HashRing, Partition, PartitionTail, partition_dir

    if index >= scorers:
        raise InputError(f"--index must be below --scorers ({scorers})", field="--index")
    settings = settings_for(ctx)
    fraud_settings = settings.fraud
    if model_dir is not None:
        fraud_settings = fraud_settings.model_copy(update={"model_dir": model_dir})
    with token_store_for(ctx) as store, ledger_for(ctx) as ledger:
        service = FraudService.from_settings(fraud_settings, ledger)
        partition = Partition(service, HashRing(scorers), index, partition_dir(settings.data_dir / "fraud", index))
        read = partition.restore()
        _log.info("fraud scorer %d of %d: %d ledger entries replayed, %s", index, scorers, read, partition.stats)
        tail = PartitionTail(partition).start()
        _exit_with_parent()
        try:
            serve_scorer(ScorerApp(partition, store), host, port)
        finally:
            tail.stop()


def router(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port to listen on.")],
    upstream: Annotated[
        list[str], typer.Option("--upstream", help="host:port of scorer 0, 1, ... in ring order (repeat).")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    hold_s: Annotated[
        float, typer.Option("--hold-s", min=0, help="How long a payment waits for its scorer to come back.")
    ] = 30.0,
) -> None:
    """Run the fraud router until SIGTERM: each payment to the scorer that owns its customer."""
    from finpilot.fraud import run_router

    upstreams: list[tuple[str, int]] = []
    for item in upstream:
        name, _, number = item.rpartition(":")
        if not name or not number.isdigit():
            raise InputError(f"--upstream {item!r} is not host:port", field="--upstream")
        upstreams.append((name.strip("[]"), int(number)))
    _exit_with_parent()
    run_router(upstreams, host, port, hold_s=hold_s)


def register_fraud_scorer(group: typer.Typer) -> None:
    """Add the hidden ``scorer`` and ``router`` commands to the ``fraud`` group."""
    group.command("scorer", hidden=True)(scorer)
    group.command("router", hidden=True)(router)
