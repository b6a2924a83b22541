"""The controller's local API, and the client the CLI uses to reach a running ``finpilot runtime up``.

The server listens on 127.0.0.1 only and wants ``Authorization: Bearer <token>``; the token
is made fresh per run and written to ``<state_dir>/controller.token`` with mode 0600, so only
the user who started the runtime (or root) can drive it. The token never appears in a log,
an audit entry or an error.

::

    GET  /v1/status                              nodes, services, replicas
    POST /v1/drain   {"node": "n1"}
    POST /v1/node-up {"node": "n1"}                a fresh agent for a node lost to node-down
    POST /v1/chaos   {"fault": "kill"|"hang"|"node-down"|"latency"|"disk-full", "target": "payments/0", "ms": 200,
                      "clear": false}
    POST /v1/apply   {"yaml": "...finpilot.yaml text..."}
    POST /v1/rollback {"service": null}           the spec before the last apply (404 when there is none)
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from finpilot.core import (
    AuthError,
    ConfigError,
    FinpilotError,
    InputError,
    NotFoundError,
    StorageError,
)
from finpilot.heal._runtime._controller import Controller

_ERRORS: dict[str, type[FinpilotError]] = {
    "InputError": InputError,
    "ConfigError": ConfigError,
    "NotFoundError": NotFoundError,
    "AuthError": AuthError,
    "StorageError": StorageError,
}


def _status_for(exc: FinpilotError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, InputError):
        return 400
    return 500


class ControllerApi:
    """Serves a :class:`Controller` on 127.0.0.1 (see the module docstring)."""

    def __init__(self, controller: Controller, state_dir: Path, *, port: int = 0) -> None:
        self.controller = controller
        self.state_dir = state_dir
        self._token = secrets.token_urlsafe(32)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # no access log: nothing here is worth a line, and headers hold the token

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                offered = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if not hmac.compare_digest(offered.encode(), api._token.encode()):
                    self._reply(401, AuthError("missing or wrong controller token").to_dict())
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}") if method == "POST" else {}
                    if not isinstance(body, dict):
                        raise InputError("the body must be a JSON object")
                    self._reply(200, api.dispatch(method, self.path, body))
                except FinpilotError as exc:
                    self._reply(_status_for(exc), exc.to_dict())
                except (ValueError, KeyError) as exc:
                    self._reply(400, InputError(f"bad request: {exc}").to_dict())

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="heal-api", daemon=True)

    @property
    def url(self) -> str:
        """Where the API listens."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve, and publish the URL and the token for the CLI."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        token_path = self.state_dir / "controller.token"
        token_path.unlink(missing_ok=True)
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self._token)
        (self.state_dir / "controller.json").write_text(json.dumps({"url": self.url, "pid": os.getpid()}))
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and withdraw the URL and token."""
        self._server.shutdown()
        self._server.server_close()
        for name in ("controller.json", "controller.token"):
            (self.state_dir / name).unlink(missing_ok=True)

    def dispatch(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Route one request to the controller."""
        c = self.controller
        actor = str(body.get("actor") or "api:local")
        if not actor.startswith(("cli:", "api:")):
            raise InputError("actor must be cli:NAME or api:NAME", field="actor")
        if method == "GET" and path == "/v1/status":
            return c.status()
        if method == "POST" and path == "/v1/drain":
            return c.drain(str(body["node"]), actor=actor)
        if method == "POST" and path == "/v1/node-up":
            return c.node_up(str(body["node"]), actor=actor)
        if method == "POST" and path == "/v1/apply":
            return c.apply_config(str(body["yaml"]), source=str(body.get("source", "finpilot.yaml")))
        if method == "POST" and path == "/v1/rollback":
            service = body.get("service")
            return c.rollback(actor=actor, service=str(service) if service is not None else None)
        if method == "POST" and path == "/v1/chaos":
            fault = str(body["fault"])
            if fault in {"kill", "hang"}:
                return c.chaos_signal(str(body["target"]), fault, actor=actor)
            if fault == "node-down":
                return c.chaos_node_down(str(body["target"]), actor=actor)
            if fault == "latency":
                return c.chaos_latency(str(body["target"]), float(body["ms"]), actor=actor)
            if fault == "disk-full":
                return c.chaos_disk_full(str(body["target"]), on=not body.get("clear"), actor=actor)
            raise InputError(
                f"unknown fault '{fault}'", field="fault", fix="use kill, hang, latency, node-down or disk-full"
            )
        raise NotFoundError(f"no such endpoint: {method} {path}")


class RuntimeClient:
    """Talks to the runtime started with the same data directory (``<data_dir>/runtime``)."""

    def __init__(self, state_dir: Path, *, timeout: float = 30.0) -> None:
        self.state_dir = state_dir
        self.timeout = timeout

    def _endpoint(self) -> tuple[str, str]:
        try:
            info = json.loads((self.state_dir / "controller.json").read_text())
            token = (self.state_dir / "controller.token").read_text().strip()
        except FileNotFoundError:
            raise NotFoundError(
                f"no runtime is running for {self.state_dir.parent}",
                fix="start one with `finpilot runtime up` (same --config / --data-dir)",
            ) from None
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read the runtime's address: {type(exc).__name__}") from None
        return str(info["url"]), token

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One API call; errors come back as the same finpilot error types the controller raised."""
        url, token = self._endpoint()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - the URL is our own http://127.0.0.1 endpoint
            url + path, data=data, method=method, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - see above
                result: dict[str, Any] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            try:
                problem = json.loads(exc.read())
            except ValueError:
                problem = {"error": "StorageError", "message": f"controller answered HTTP {exc.code}"}
            kind = _ERRORS.get(str(problem.get("error")), StorageError)
            raise kind(str(problem.get("message")), field=problem.get("field"), fix=problem.get("fix")) from None
        except OSError as exc:
            raise StorageError(
                f"the runtime does not answer at {url} ({type(exc).__name__})",
                fix="is `finpilot runtime up` still running?",
            ) from None

    def status(self) -> dict[str, Any]:
        """See :meth:`Controller.status`."""
        return self.request("GET", "/v1/status")

    def drain(self, node: str, *, actor: str) -> dict[str, Any]:
        """See :meth:`Controller.drain`."""
        return self.request("POST", "/v1/drain", {"node": node, "actor": actor})

    def node_up(self, node: str, *, actor: str) -> dict[str, Any]:
        """Start a fresh agent for ``node`` after a node-down (the node is Ready again once it beats)."""
        return self.request("POST", "/v1/node-up", {"node": node, "actor": actor})

    def chaos(self, fault: str, target: str, *, actor: str, ms: float | None = None) -> dict[str, Any]:
        """Inject a fault (kill, hang, latency, node-down); ``actor`` is who asked (audited)."""
        return self.request("POST", "/v1/chaos", {"fault": fault, "target": target, "ms": ms, "actor": actor})

    def apply(self, text: str, source: str) -> dict[str, Any]:
        """See :meth:`Controller.apply_config`."""
        return self.request("POST", "/v1/apply", {"yaml": text, "source": source})

    def rollback(self, *, actor: str, service: str | None = None) -> dict[str, Any]:
        """See :meth:`Controller.rollback`."""
        return self.request("POST", "/v1/rollback", {"service": service, "actor": actor})
