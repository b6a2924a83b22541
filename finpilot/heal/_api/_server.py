"""Serving the controller API under uvicorn in a thread of ``finpilot runtime up``.

The server listens on 127.0.0.1 only and wants ``Authorization: Bearer <token>``; the token
is made fresh per run and written to ``<state_dir>/controller.token`` with mode 0600, so only
the user who started the runtime (or root) can drive it. The token never appears in a log,
an audit entry or an error. The address goes to ``<state_dir>/controller.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from typing import TYPE_CHECKING

import uvicorn

from finpilot.core import ConfigError, StorageError, proxy_options
from finpilot.heal._api._app import create_controller_app

if TYPE_CHECKING:
    from pathlib import Path

    from finpilot.heal._runtime._controller import Controller

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


class _ThreadServer(uvicorn.Server):
    """uvicorn that says when it is ready; the runtime's main thread keeps its own signal handlers."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then report (also when startup failed, so that nobody waits in vain)."""
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class ControllerApi:
    """Serves a :class:`Controller` on 127.0.0.1 (see :mod:`finpilot.heal._api._app` for the routes).

    The port is bound at construction (``port=0`` picks a free one), so :attr:`url` is known
    before :meth:`start`.
    """

    def __init__(self, controller: Controller, state_dir: Path, *, port: int = 0) -> None:
        self.controller = controller
        self.state_dir = state_dir
        self._token = secrets.token_urlsafe(32)
        try:
            self._sock = socket.create_server(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(
                f"the controller API cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                field="runtime.controller_port",
                fix="choose a free port (0 picks one) or stop whatever holds it",
            ) from None
        app = create_controller_app(controller, self._token)
        # On 127.0.0.1 with no proxy before it: X-Forwarded-For is never believed.
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, server_header=False, **proxy_options(())
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="heal-api", daemon=True
        )

    @property
    def url(self) -> str:
        """Where the API listens."""
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve, and publish the URL and the token for the CLI once the server accepts connections."""
        self._thread.start()
        if not self._server.ready.wait(_START_TIMEOUT_S) or not self._server.started:
            self.stop()
            raise StorageError("the controller API did not start", fix="see the runtime's log")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        token_path = self.state_dir / "controller.token"
        token_path.unlink(missing_ok=True)
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self._token)
        (self.state_dir / "controller.json").write_text(json.dumps({"url": self.url, "pid": os.getpid()}))

    def stop(self) -> None:
        """Withdraw the URL and token, then stop serving."""
        for name in ("controller.json", "controller.token"):
            (self.state_dir / name).unlink(missing_ok=True)
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_S)
        self._sock.close()
