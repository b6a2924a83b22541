"""The built-in demo around ``finpilot up``: a model, the payments service and live traffic.

With no config file, ``finpilot up`` also:

1. trains a small model on seeded synthetic payments if ``data_dir/models/demo`` has none
   (a few seconds), and records it in the ledger as a ``fraud.model`` entry;
2. runs the reference payments service (SQLite in ``data_dir/payments``): by default as 2
   replicas on 2 local nodes behind the router, deciding over ``POST /api/v1/fraud/scores``
   (:mod:`finpilot.cli._demo_runtime`); with ``--no-runtime`` in a thread of this process,
   deciding in-process (:class:`PaymentsDemo`). Either way the engine's freezes are carried
   over to it (:class:`~finpilot.fraud.AccountSync`);
3. drives generated traffic with injected fraud at ``--traffic-rate`` payments a second.

The fraud state (features and frozen accounts) is loaded at start and saved at stop, in
``data_dir/fraud``, with or without the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Protocol

import uvicorn

from finpilot.audit import Ledger
from finpilot.console import tcp_nodelay
from finpilot.core import FinpilotError, InputError, SecretRef, Settings, proxy_options, resolve_secret
from finpilot.fraud import (
    AccountSync,
    FraudService,
    TrafficConfig,
    fraud_rates_for,
    generate_payments,
    holdout_reference,
    load_state,
    payments_decider,
    read_payments,
    record_model,
    run_traffic_async,
    save_state,
    train_artifact,
)
from finpilot.heal import mint_demo_payments_token
from finpilot.watch import RateSchedule

_log = logging.getLogger("finpilot.demo")

DEMO_CUSTOMERS = 100
"""Customers in the demo's synthetic population (each gets an account and a card)."""
DEMO_TERMINALS = 200
"""Terminals in the demo's population (each gets a merchant account)."""
DEMO_FRAUD_RATE = 0.05
"""Share of injected fraud in the demo traffic: high enough to see declines within a minute."""


def fraud_state_dir(settings: Settings) -> Path:
    """Where the fraud engine's features and frozen accounts are saved between runs."""
    return settings.data_dir / "fraud"


def write_demo_history(path: Path) -> None:
    """Write the 30 days of generated payments (seed 7, 2 % fraud) the demo model is trained on."""
    per_terminal, per_customer = fraud_rates_for(0.02, customers=DEMO_CUSTOMERS, terminals=DEMO_TERMINALS)
    generate_payments(
        path,
        customers=DEMO_CUSTOMERS,
        terminals=DEMO_TERMINALS,
        days=30,
        compromised_terminals_per_day=per_terminal,
        compromised_customers_per_day=per_customer,
        seed=7,
    )


def ensure_demo_model(settings: Settings, ledger: Ledger) -> Path:
    """The demo model's directory, trained (and recorded in the ledger) if it is not there yet."""
    model_dir = settings.data_dir / "models" / "demo"
    if (model_dir / "manifest.json").is_file():
        return model_dir
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir) as work:
        csv_path = Path(work) / "history.csv"
        write_demo_history(csv_path)
        payments = read_payments(csv_path)
        artifact = train_artifact(payments)  # the last 7 days are its holdout and drift reference
        reference = holdout_reference(artifact, payments)
    artifact.save(model_dir)
    if reference is not None:
        reference.save(model_dir)  # the Fraud page's drift panel compares live traffic with it
    record_model(ledger, artifact, actor="finpilot:demo")
    return model_dir


def open_fraud_service(settings: Settings, ledger: Ledger) -> FraudService | None:
    """The fraud service of ``settings.fraud`` with its saved state, or ``None`` when it cannot load.

    ``None`` leaves it to the console, which reports the problem on ``/api/v1/fraud/scores``.
    """
    if settings.fraud.model_dir is None:
        return None
    try:
        service = FraudService.from_settings(settings.fraud, ledger)
        restored = load_state(service, fraud_state_dir(settings))
    except FinpilotError as exc:
        _log.warning("fraud service not started: %s", exc.message)
        return None
    _log.info(
        "fraud state: features %s, %d frozen accounts (%d ledger entries read)",
        "restored" if restored.features_restored else "fresh",
        restored.frozen,
        restored.entries_read,
    )
    return service


class _ThreadServer(uvicorn.Server):
    """uvicorn in a worker thread: the main thread's console owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave signal handling to the main thread."""
        yield


class DemoTraffic:
    """Generated payments with injected fraud, sent to ``url`` from a thread of its own until :meth:`stop`."""

    def __init__(self, url: str, *, rate: float, token: SecretRef, schedule: RateSchedule | None = None) -> None:
        self.url = url
        self.rate = rate
        self.token = token
        self.schedule = schedule
        """When set, traffic follows it (a base rate and a daily "market open" surge) instead of ``rate``."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_traffic: asyncio.Event | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start sending (nothing when the rate is 0)."""
        if self.rate > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="traffic-demo", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        config = TrafficConfig(
            url=self.url,
            rate=self.rate,
            duration_s=86_400,
            seed=7,
            customers=DEMO_CUSTOMERS,
            terminals=DEMO_TERMINALS,
            fraud_rate=DEMO_FRAUD_RATE,
            concurrency=16,
            token=self.token,
            schedule=self.schedule,
        )

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            stop = self._stop_traffic = asyncio.Event()
            if self._stopping.is_set():  # stop() ran before this loop existed
                return
            traffic = asyncio.create_task(run_traffic_async(config))
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({traffic, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (traffic, stopper):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await traffic
            if not traffic.cancelled() and traffic.exception() is not None:
                exc = traffic.exception()
                _log.warning("demo traffic stopped: %s", getattr(exc, "message", type(exc).__name__))

        asyncio.run(main())

    def stop(self) -> None:
        """Stop sending and wait for the thread; idempotent."""
        self._stopping.set()
        loop, stop = self._loop, self._stop_traffic
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop finished meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None


class PaymentsDemo:
    """The payments service in a thread, deciding with ``fraud``, and a traffic generator aimed at it.

    The escape hatch of ``finpilot up --no-runtime``; by default the demo runs the payments
    service on the local runtime instead (:class:`~finpilot.cli._demo_runtime.RuntimeDemo`).
    """

    def __init__(self, settings: Settings, fraud: FraudService, *, port: int = 0, traffic_rate: float = 20.0) -> None:
        if traffic_rate < 0:
            raise InputError("--traffic-rate must be 0 (off) or more", field="--traffic-rate")
        self.settings = settings
        self.fraud = fraud
        self.traffic_rate = traffic_rate
        self.url = ""
        self._port = port
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._traffic: DemoTraffic | None = None
        self._database: object = None
        self._token: SecretRef | None = None

    def start(self) -> str:
        """Serve the payments service; its URL. The traffic waits for :meth:`start_traffic`."""
        # Imported here: the payments service is a separate application that only the demo needs.
        from finpilot_payments import CallableDecider, NotFoundError, PaymentsSettings, create_app, open_database

        # The traffic's token, minted for this run, by reference (a chmod 600 file in the data directory).
        self._token = mint_demo_payments_token(self.settings.data_dir)
        secret = resolve_secret(self._token, field="payments token").decode()
        payments_settings = PaymentsSettings(data_dir=self.settings.data_dir / "payments", bootstrap_token=secret)
        payments_settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = open_database(payments_settings)
        self._database = database
        decider = CallableDecider(payments_decider(self.fraud))  # type: ignore[arg-type]  # structural Decision
        app = create_app(payments_settings, database=database, decider=decider)
        payments = app.state.service

        def set_frozen(account_id: str, frozen: bool, key: str) -> None:
            # An account scored elsewhere (POST /api/v1/fraud/scores) is not one of this service's: nothing to do.
            with contextlib.suppress(NotFoundError):
                payments.set_frozen(key, account_id, frozen=frozen)

        self.fraud.add_observer(AccountSync(set_frozen))
        try:
            sock = tcp_nodelay(socket.create_server(("127.0.0.1", self._port), backlog=2048))
        except OSError as exc:
            database.close()
            self._database = None
            raise InputError(
                f"cannot listen on 127.0.0.1:{self._port} for the payments service: {exc.strerror or exc}",
                field="--payments-port",
                fix="choose a free port (0 picks one)",
            ) from None
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        # Served on 127.0.0.1 with no proxy before it: X-Forwarded-For is never believed.
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, server_header=False, lifespan="on", **proxy_options(())
        )
        server = self._server = _ThreadServer(config)

        def run_server() -> None:
            try:
                server.run(sockets=[sock])
            finally:
                sock.close()

        thread = self._thread = threading.Thread(target=run_server, name="payments-demo", daemon=True)
        thread.start()
        started = threading.Event()
        while thread.is_alive() and not server.started:
            started.wait(0.02)
        return self.url

    def start_traffic(self) -> None:
        """Start the generated traffic (once the console answers, so nothing waits on it)."""
        if self._traffic is None and self.url and self._token is not None:
            self._traffic = DemoTraffic(self.url, rate=self.traffic_rate, token=self._token)
            self._traffic.start()

    def stop(self) -> None:
        """Stop the traffic, then the payments service; idempotent."""
        if self._traffic is not None:
            self._traffic.stop()
        if self._thread is not None:
            if self._server is not None:
                self._server.should_exit = True
            self._thread.join(timeout=15)
            self._thread = None
        close = getattr(self._database, "close", None)
        if close is not None:
            close()
            self._database = None


class Demo(Protocol):
    """What ``up`` needs of a demo: the in-thread :class:`PaymentsDemo` or the runtime's."""

    def start(self) -> str:
        """Start the payments service; its URL."""
        ...

    def start_traffic(self) -> None:
        """Start the generated traffic."""
        ...

    def stop(self) -> None:
        """Stop the traffic, then the payments service; idempotent."""
        ...


def stop_and_save(demo: Demo | None, fraud: FraudService | None, settings: Settings) -> None:
    """At shutdown: stop the demo (traffic first), then save the fraud state."""
    if demo is not None:
        demo.stop()
    if fraud is not None:
        save_state(fraud, fraud_state_dir(settings))
