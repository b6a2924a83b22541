"""``finpilot up``: run the web console and REST API until interrupted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from finpilot.audit import Entry, Ledger
from finpilot.cli._context import cli_state, ledger_for, settings_for
from finpilot.cli._output import busy, err, out
from finpilot.cli._token_cmd import issue_token, print_secret, token_store_for

if TYPE_CHECKING:
    from finpilot.console import TokenStore
    from finpilot.fraud import FraudService, Partition

DEMO_ADMIN_NAME = "demo-admin"
"""Name of the admin token ``up`` creates for a first-time user of the demo settings."""


def demo_token(store: TokenStore, ledger: Ledger) -> str:
    """Create the demo admin token and return its secret."""
    # Token names are never reused, so after the demo token was revoked the next one needs a
    # fresh name: demo-admin, demo-admin-2, ...
    taken = {info.name for info in store.list()}
    name, n = DEMO_ADMIN_NAME, 1
    while name in taken:
        n += 1
        name = f"{DEMO_ADMIN_NAME}-{n}"
    _info, secret = issue_token(store, ledger, name=name, role="admin")
    return secret


SCORE_PATH = "/api/v1/fraud/scores"


def mirror_partition(fraud: FraudService, scorers: int) -> Partition:
    """The console's view of the scorers' decisions, from now on: remembered for labels, told to the
    console's observers (the Fraud page, alerts, drift), freezes followed."""
    from finpilot.fraud import HashRing, Partition

    mirror = Partition(fraud, HashRing(scorers), None)
    # From now on only: a label for a payment decided before this start is a 404, as after any
    # restart. The Fraud page reads the last hour from the ledger itself (FraudStats.count_recent)
    # and does not count again what this tail then tells it.
    mirror.position = fraud.ledger.size
    return mirror


def up(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on. Default: console.host.")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="TCP port; 0 picks a free one. Default: console.port.", min=0, max=65535),
    ] = None,
    traffic_rate: Annotated[
        float,
        typer.Option(
            help="Demo only: generated payments a second sent to the payments service; 0 turns it off.", min=0
        ),
    ] = 20.0,
    payments_port: Annotated[
        int,
        typer.Option(
            help="Demo only: TCP port of the payments service (its router); 0 picks a free one.", min=0, max=65535
        ),
    ] = 0,
    runtime: Annotated[
        bool,
        typer.Option(
            "--runtime/--no-runtime",
            help="Demo only: payments as 2 replicas on the local runtime (default), or in a thread of this process.",
        ),
    ] = True,
    surge: Annotated[
        bool,
        typer.Option(
            "--surge/--no-surge",
            help="Demo on the runtime only: a 'market open' surge every 2 minutes, met ahead of time by the "
            "predictive autoscaler (payments 2-4 replicas); `finpilot demo --part surge` reports on it.",
        ),
    ] = False,
) -> None:
    """Run the web console and REST API; stop with Ctrl+C or SIGTERM.

    With a fraud model it starts fraud.scorers scorer processes behind the fraud router and prints
    `fraud scoring: URL`, where clients POST payments.

    With no config file (the built-in demo) it also trains a small fraud model if there is none,
    runs the reference payments service guarded by it (2 replicas on 2 local nodes behind the
    router, scoring at the fraud router), and sends it live generated traffic. `finpilot demo` then
    tours the self-healing runtime against it.
    """
    # Imported here, like the token store: FastAPI is slow to import and only `up` needs it.
    from finpilot.cli._demo import Demo, PaymentsDemo, ensure_demo_model, open_fraud_service, stop_and_save
    from finpilot.cli._demo_runtime import RuntimeDemo, free_port, local_url
    from finpilot.cli._fraud_fleet import ScorerFleet
    from finpilot.cli._watch_autoscale_up import SCRAPE_S, DemoAutoscaler
    from finpilot.cli._watch_up import DEMO_RUNBOOK, WatchStack, demo_settings
    from finpilot.console import serve
    from finpilot.fraud import PartitionTail
    from finpilot.heal import Runbook, RunbookEngine

    settings = settings_for(ctx)
    overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = settings.model_copy(update={"console": settings.console.model_copy(update=overrides)})
    is_demo = cli_state(ctx).config_file() is None and settings.fraud.model_dir is None
    with token_store_for(ctx) as store, ledger_for(ctx) as ledger:
        secret = None
        if settings.console.demo_token and store.count_active() == 0:
            # A first-time user has no way to log in yet; give them one admin token, once.
            secret = demo_token(store, ledger)
        if is_demo:
            with busy("preparing the demo fraud model"):
                model_dir = ensure_demo_model(settings, ledger)
            settings = settings.model_copy(update={"fraud": settings.fraud.model_copy(update={"model_dir": model_dir})})
        fraud = open_fraud_service(settings, ledger)
        # N scorer processes behind the fraud router score the payments; the console's own service
        # mirrors the ledger, so labels, freezes and the Fraud page still work from the console.
        fleet = (
            ScorerFleet(settings, scorers=settings.fraud.scorers, config=cli_state(ctx).config_file())
            if fraud is not None and settings.fraud.scorers > 0
            else None
        )
        mirror: PartitionTail | None = None
        demo: Demo | None = None
        if is_demo and fraud is not None and runtime:
            if settings.console.port == 0:
                # The replicas must know where to score before the console is up: fix the port now.
                settings = settings.model_copy(
                    update={"console": settings.console.model_copy(update={"port": free_port(settings.console.host)})}
                )
            demo = RuntimeDemo(
                settings,
                fraud,
                store=store,
                ledger=ledger,
                decider_url=fleet.url if fleet is not None else local_url(settings.console.host, settings.console.port),
                console_url=local_url(settings.console.host, settings.console.port),
                router_port=payments_port,
                traffic_rate=traffic_rate,
                surge=surge,
            )
            if demo.schedule is not None:
                # The surge lasts 20 s: scrape often enough to see it (demo only, no config file).
                metrics = settings.watch.metrics.model_copy(
                    update={"interval_s": SCRAPE_S, "timeout_s": min(settings.watch.metrics.timeout_s, SCRAPE_S)}
                )
                settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"metrics": metrics})})
        elif is_demo and fraud is not None:
            demo = PaymentsDemo(settings, fraud, port=payments_port, traffic_rate=traffic_rate)
        if is_demo:
            settings = demo_settings(settings)
        watch = WatchStack(settings)
        # Entries the watch service writes go to the ledger and on to the runbook engine (the demo's).
        engine: RunbookEngine | None = None

        def record(entry: Entry) -> None:
            ledger.append(entry)
            if engine is not None:
                engine.offer(entry)

        autoscaler: DemoAutoscaler | None = None
        try:
            # Built (and so checked) before anything serves: a bad rule or sink stops `up` here.
            watch.prepare_alerting(
                local_url(settings.console.host, settings.console.port) if settings.console.port else None,
                record=record,
                demo=is_demo,
            )
            if fleet is not None and fraud is not None:
                # The mirror reads from before the first scorer starts, but its tail starts once the
                # console has put its observers on the service (on_ready): no decision goes untold.
                mirror = PartitionTail(mirror_partition(fraud, settings.fraud.scorers))
                with busy(f"starting {fleet.scorers} fraud scorers and their router"):
                    fleet.start()
            if demo is not None:
                with busy("starting the payments service"):
                    payments_url = demo.start()
            else:
                payments_url = None
            controller = demo.controller if isinstance(demo, RuntimeDemo) else None
            if controller is not None:
                engine = RunbookEngine([Runbook.model_validate(DEMO_RUNBOOK)], ledger)
                engine.attach(controller)
                engine.start()

            def on_ready(url: str) -> None:
                if mirror is not None:
                    mirror.start()
                # Metrics are scraped from the start: the console's own, the routers' and the replicas'.
                watch.start(url, demo.scrape_targets if isinstance(demo, RuntimeDemo) else None)
                watch.start_alerting()
                out().print(Text(f"finpilot console: {url}"), soft_wrap=True)
                if fraud is not None:
                    scoring = fleet.scoring_url if fleet is not None else url.rstrip("/") + SCORE_PATH
                    out().print(Text(f"fraud scoring: {scoring}"), soft_wrap=True)
                if payments_url is not None:
                    out().print(Text(f"payments service: {payments_url}"), soft_wrap=True)
                if isinstance(demo, RuntimeDemo):
                    err().print(
                        f"payments: {demo.runtime.services['payments'].replicas} replicas on nodes "
                        f"{', '.join(demo.nodes) or '(none ready yet)'} behind the router; "
                        "`finpilot demo` tours the self-healing runtime"
                    )
                if secret is not None:
                    out().print("log in with this demo admin token:")
                    print_secret(secret)
                if demo is not None:
                    demo.start_traffic()
                if isinstance(demo, RuntimeDemo) and demo.schedule is not None:
                    nonlocal autoscaler
                    autoscaler = DemoAutoscaler(
                        watch.query, watch.store, demo.scale_target(), demo.schedule, ledger.append
                    )
                    autoscaler.start()
                    err().print(
                        f"market open every {demo.schedule.period_s:g} s (x{demo.schedule.factor:g} for "
                        f"{demo.schedule.surge_s:g} s); the predictive autoscaler scales payments ahead of it"
                    )
                err().print("press Ctrl+C to stop")

            serve(
                settings,
                ledger,
                store,
                on_ready=on_ready,
                fraud=fraud,
                metrics_query=watch.query,
                alerts=watch.service.manager if watch.service is not None else None,
            )
        finally:
            if autoscaler is not None:
                autoscaler.stop()
            watch.stop()
            if engine is not None:
                engine.stop()
            try:
                stop_and_save(demo, fraud, settings)
            finally:
                if fleet is not None:
                    fleet.stop()
                if mirror is not None:
                    mirror.stop(save=False)
