"""``finpilot fraud serve`` and ``finpilot fraud publish``: the fraud engine as NATS JetStream workers.

``serve --nats URL`` runs one scorer worker until SIGTERM or Ctrl+C; run several with distinct
``--worker-id`` and they share the partitions. Without ``--nats`` it serves the HTTP scoring
API (``POST /api/v1/fraud/scores``), which is the console server ``finpilot up`` runs.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from finpilot.cli._context import ledger_for, settings_for
from finpilot.cli._output import JsonFlag, busy, out, print_json
from finpilot.cli._up_cmd import up
from finpilot.core import NotFoundError
from finpilot.fraud import (
    DecisionPolicy,
    NatsLayout,
    NatsWorker,
    Payment,
    Thresholds,
    connect_nats,
    ensure_jetstream,
    load_artifact,
    publish_payments,
    read_payments,
)

NatsUrl = Annotated[
    str | None,
    typer.Option("--nats", envvar="FINPILOT_NATS_URL", help="NATS server URL, e.g. nats://127.0.0.1:4222."),
]
Prefix = Annotated[str, typer.Option("--prefix", help="Names the streams, buckets and subjects; one per deployment.")]
Partitions = Annotated[
    int,
    typer.Option("--partitions", min=1, max=1024, help="Partitions of the payment stream; fixed once created."),
]


def serve(
    ctx: typer.Context,
    nats_url: NatsUrl = None,
    worker_id: Annotated[
        str | None, typer.Option("--worker-id", help="This worker's id (letters, digits, '_', '-'); unique.")
    ] = None,
    prefix: Prefix = "finpilot",
    partitions: Partitions = 12,
    lease_s: Annotated[
        float, typer.Option("--lease-s", min=0.5, help="Seconds before a dead worker's partitions are taken over.")
    ] = 3.0,
    ack_wait_s: Annotated[
        float, typer.Option("--ack-wait-s", min=0.5, help="Seconds before an unacknowledged payment is redelivered.")
    ] = 5.0,
    host: Annotated[str | None, typer.Option(help="Without --nats: address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Without --nats: TCP port (0 picks one).", min=0, max=65535)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Score payments: a NATS JetStream worker with --nats, else the HTTP API (POST /api/v1/fraud/scores)."""
    if nats_url is None:
        up(ctx, host=host, port=port, traffic_rate=0.0)  # scoring only: no generated traffic
        return
    if worker_id is None:
        raise typer.BadParameter("give each worker its own id", param_hint="--worker-id")
    settings = settings_for(ctx).fraud
    if settings.model_dir is None:
        raise NotFoundError(
            "no fraud model configured", field="fraud.model_dir", fix="train one with `finpilot fraud train`"
        )
    layout = NatsLayout(prefix=prefix, partitions=partitions, lease_s=lease_s, ack_wait_s=ack_wait_s)
    artifact = load_artifact(settings.model_dir)
    policy = DecisionPolicy(
        Thresholds(settings.review_threshold, settings.decline_threshold, settings.freeze_threshold)
    )
    with ledger_for(ctx) as ledger:

        async def main() -> NatsWorker:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            nc = await connect_nats(nats_url)
            try:
                worker = NatsWorker(
                    nc.jetstream(), layout, worker_id=worker_id, artifact=artifact, policy=policy, ledger=ledger
                )
                if not as_json:
                    out().print(
                        Text(f"fraud worker {worker_id}: {nats_url}, prefix {prefix}, {partitions} partitions"),
                        soft_wrap=True,
                    )
                await worker.run(stop)
            finally:
                await nc.drain()
            return worker

        worker = asyncio.run(main())
    stats = {"worker": worker_id, **vars(worker.stats)}
    if as_json:
        print_json(stats)
    else:
        out().print(Text(", ".join(f"{k} {v}" for k, v in stats.items())), soft_wrap=True)


def publish(
    csv_file: Annotated[
        Path, typer.Option("--csv", dir_okay=False, help="Payments in the handbook CSV schema (plain or .gz).")
    ],
    nats_url: NatsUrl = None,
    prefix: Prefix = "finpilot",
    partitions: Partitions = 12,
    as_json: JsonFlag = False,
) -> None:
    """Publish a payment CSV to the NATS payment stream (a payment published twice is stored once)."""
    if nats_url is None:
        raise typer.BadParameter("say which NATS server", param_hint="--nats")
    url = nats_url
    layout = NatsLayout(prefix=prefix, partitions=partitions)
    with busy(f"reading {csv_file}"):
        table = read_payments(csv_file)
    payments = [
        Payment(tx, int(t), cust, term, float(amount))
        for tx, t, cust, term, amount in zip(
            table.tx_ids, table.times, table.customers, table.terminals, table.amounts, strict=True
        )
    ]

    async def main() -> int:
        nc = await connect_nats(url)
        try:
            js = nc.jetstream()
            await ensure_jetstream(js, layout)
            return await publish_payments(js, layout, payments)
        finally:
            await nc.drain()

    with busy(f"publishing {len(payments)} payments"):
        stored = asyncio.run(main())
    report = {"read": len(payments), "stored": stored, "duplicates": len(payments) - stored}
    if as_json:
        print_json(report)
    else:
        out().print(f"published {len(payments)} payments: {stored} stored, {len(payments) - stored} duplicates")


def register_fraud_serve(group: typer.Typer) -> None:
    """Add ``serve`` and ``publish`` to the ``fraud`` command group."""
    group.command("serve")(serve)
    group.command("publish")(publish)
