"""Running the console under uvicorn until SIGINT or SIGTERM, with start and stop in the ledger."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import threading
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn

from finpilot import __version__
from finpilot.audit import Entry, Ledger
from finpilot.audit.kinds import CONSOLE_LIFECYCLE
from finpilot.console._app import create_app
from finpilot.console._refusals import RefusalWindows
from finpilot.console._tokens import TokenStore
from finpilot.core import ConfigError, Settings, proxy_options
from finpilot.fraud import FraudService
from finpilot.watch import AlertManager as WatchAlertManager
from finpilot.watch import MetricsQuery

_ACTOR = "finpilot:console"


def _lifecycle(action: str, url: str) -> Entry:
    return CONSOLE_LIFECYCLE.entry(
        actor=_ACTOR,
        action=action,
        subject="console",
        outcome="ok",
        evidence={"url": url, "version": __version__},
    )


def tcp_nodelay(sock: socket.socket) -> socket.socket:
    """The same listening socket, marked as TCP so that asyncio turns Nagle off on every connection.

    asyncio sets TCP_NODELAY only on sockets whose ``proto`` is ``IPPROTO_TCP``, and
    :func:`socket.create_server` leaves it 0. Without it a response written in two parts
    (headers, then body) waits for the client's delayed ACK: about 40 ms per keep-alive request.
    """
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def _listen(host: str, port: int) -> socket.socket:
    # Binding here rather than inside uvicorn gives the real port for port 0, and turns a
    # busy port into an error instead of uvicorn's sys.exit.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return tcp_nodelay(socket.create_server((host, port), family=family, backlog=2048))
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            field="console.port",
            fix="choose a free port (0 picks one) or stop whatever holds it",
        ) from None


class GracefulServer(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGINT/SIGTERM without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Turn SIGINT/SIGTERM into a graceful stop and restore the old handlers after.

        uvicorn's own version raises the signal again once stopped, which would turn a clean
        stop into KeyboardInterrupt in the caller; :func:`serve` returns normally instead.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(sig: int, _frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl+C stops waiting for open connections
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Server(GracefulServer):
    """uvicorn, reporting readiness and stopping on signals without re-raising them afterwards."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None], refusals: RefusalWindows) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._refusals = refusals

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's tick (10 a second); once a second, write the refusal windows that have ended."""
        if counter % 10 == 0 and self._refusals.due():
            await asyncio.to_thread(self._refusals.flush)
        return await super().on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then report."""
        await super().startup(sockets=sockets)
        if self.started:
            await asyncio.to_thread(self._on_started)


def serve(
    settings: Settings,
    ledger: Ledger,
    token_store: TokenStore,
    *,
    on_ready: Callable[[str], None] | None = None,
    fraud: FraudService | None = None,
    metrics_query: MetricsQuery | None = None,
    alerts: WatchAlertManager | None = None,
) -> None:
    """Serve the console until SIGINT or SIGTERM, then return normally.

    ``on_ready`` receives the real URL once the server accepts connections (useful with port 0).
    A ``console.lifecycle`` entry is appended at start and at stop, after the refusal windows
    still open (``console.refusals``). ``X-Forwarded-For`` is believed only from
    ``console.trusted_proxies``. The caller closes the ledger
    and the token store. ``fraud`` serves ``/api/v1/fraud/scores``, ``metrics_query`` the Metrics
    page and ``alerts`` (a watch alert manager, kept open by the caller) the Alerts page (see
    :func:`create_app`).
    """
    sock = _listen(settings.console.host, settings.console.port)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    app = create_app(settings, ledger, token_store, fraud=fraud, metrics_query=metrics_query, alerts=alerts)
    # Everything loaded so far (modules, the app, the model, restored feature state) lives as
    # long as the process. Frozen, a full collection no longer walks it: with ~170k such
    # objects a gen-2 pass took 30-300 ms, which is the p99 of a scoring request.
    gc.collect()
    gc.freeze()
    refusals: RefusalWindows = app.state.console.refusals
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        **proxy_options(settings.console.trusted_proxies),
    )
    started = False

    def on_started() -> None:
        nonlocal started
        ledger.append(_lifecycle("start", url))
        started = True
        if on_ready is not None:
            on_ready(url)

    try:
        _Server(config, on_started, refusals).run(sockets=[sock])
    finally:
        sock.close()
        if started:
            refusals.flush(everything=True)
            ledger.append(_lifecycle("stop", url))
