"""Serving the app under uvicorn on a socket bound here, so port 0 reports its real port."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI

from finpilot_payments._app import create_app
from finpilot_payments._errors import PaymentsError
from finpilot_payments._settings import PaymentsSettings


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGINT/SIGTERM without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Turn SIGINT/SIGTERM into a graceful stop, and restore the old handlers after."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(sig: int, _frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def settle_heap() -> None:
    """Move everything alive now out of the garbage collector's sight; call once, before serving.

    The objects of start-up (modules, the app, a fraud model and its feature state) live as long
    as the process, yet every full collection walked them all: pauses of 100-300 ms that held
    every request in flight (measured at 200 payments/s). Frozen, they are skipped; objects made
    later are collected as before.
    """
    gc.collect()
    gc.freeze()


def uvicorn_config(app: FastAPI, settings: PaymentsSettings) -> uvicorn.Config:
    """How uvicorn serves ``app``: X-Forwarded-For is believed only from ``settings.trusted_proxies``
    (uvicorn's default trusts 127.0.0.1, so anything local could choose the client address)."""
    trusted = list(settings.trusted_proxies)
    # "auto" takes uvloop and httptools (dependencies of finpilot: they cut the server's CPU per
    # request by about a fifth) and falls back to asyncio and h11 where they are missing.
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        loop="auto",
        http="auto",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


def serve(
    settings: PaymentsSettings, *, host: str = "127.0.0.1", port: int = 8080, on_ready: Callable[[str], None]
) -> None:
    """Serve until SIGINT or SIGTERM; ``on_ready`` gets the bound URL before the first request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    # asyncio turns Nagle off only on sockets marked IPPROTO_TCP, and create_server leaves proto 0:
    # without this every keep-alive response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(listener.family, listener.type, socket.IPPROTO_TCP, fileno=listener.detach())
    try:
        app = create_app(settings)
        config = uvicorn_config(app, settings)
        settle_heap()
        on_ready(_url(sock))
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m finpilot_payments",
        description="The reference payments service. `python -m finpilot_payments tokens --help`: its API tokens.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    parser.add_argument("--data-dir", type=Path, help="where the SQLite database lives (env PAYMENTS_DATA_DIR)")
    parser.add_argument("--dsn", help="PostgreSQL DSN instead of SQLite (env PAYMENTS_DSN)")
    parser.add_argument("--schema", dest="schema_name", help="PostgreSQL schema (env PAYMENTS_SCHEMA)")
    parser.add_argument("--version", dest="version", help="version to report (env PAYMENTS_VERSION)")
    parser.add_argument("--decider-url", help="decision service base URL (env PAYMENTS_DECIDER_URL)")
    parser.add_argument("--decider-timeout-s", type=float, help="decision timeout in seconds (default 0.5)")
    parser.add_argument(
        "--decider-fail-open",
        action="store_true",
        default=None,
        help="approve when the decision service is unavailable: unreachable, timeout, 5xx "
        "(default: decline, fail-closed); a 4xx refusal always declines",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse, serve (or ``tokens ...``), map errors to exit status 2."""
    os.umask(0o077)  # the process's own files are private; set at the entry point, not in the app factory
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tokens"]:
        from finpilot_payments._tokens_cmd import tokens_main

        return tokens_main(argv[1:])
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k not in {"host", "port"}}
    try:
        settings = PaymentsSettings.from_env(**overrides)

        def ready(url: str) -> None:
            print(f"payments service {settings.version} listening on {url}", flush=True)

        serve(settings, host=args.host, port=args.port, on_ready=ready)
    except PaymentsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
