"""The client the CLI and the console use to reach a running ``finpilot runtime up``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from finpilot.core import NotFoundError, StorageError, error_from_body, http_client

if TYPE_CHECKING:
    from finpilot.heal._runtime._arms import ArmSpec


class RuntimeClient:
    """Talks to the runtime started with the same data directory (``<data_dir>/runtime``).

    Errors come back as the finpilot error types the controller raised (rebuilt from the one
    error body every finpilot server answers with). Each call opens one connection to the
    loopback controller through a client from core's factory (about 0.2 ms to build), so a
    ``RuntimeClient`` holds nothing that needs closing.
    """

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
        """One API call to ``path`` (under ``/api/v1``, e.g. ``/status``)."""
        url, token = self._endpoint()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            with http_client(timeout_s=self.timeout, max_connections=1) as client:
                response = client.request(method, f"{url}/api/v1{path}", json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise StorageError(
                f"the runtime does not answer at {url} ({type(exc).__name__})",
                fix="is `finpilot runtime up` still running?",
            ) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = None
            raise error_from_body(response.status_code, problem)
        try:
            result: dict[str, Any] = response.json()
        except ValueError:
            raise StorageError(f"the runtime at {url} answered with no JSON (HTTP {response.status_code})") from None
        return result

    def status(self) -> dict[str, Any]:
        """``GET /api/v1/status``: nodes, services and replicas (see :meth:`Controller.status`)."""
        return self.request("GET", "/status")

    def drain(self, node: str, *, actor: str) -> dict[str, Any]:
        """``POST /api/v1/nodes/{node}/drain`` (see :meth:`Controller.drain`)."""
        return self.request("POST", f"/nodes/{quote(node, safe='')}/drain", {"actor": actor})

    def node_up(self, node: str, *, actor: str) -> dict[str, Any]:
        """``POST /api/v1/nodes/{node}/up``: a fresh agent for ``node`` after a node-down (Ready once it beats)."""
        return self.request("POST", f"/nodes/{quote(node, safe='')}/up", {"actor": actor})

    def chaos(
        self, fault: str, target: str, *, actor: str, ms: float | None = None, clear: bool = False
    ) -> dict[str, Any]:
        """``POST /api/v1/chaos/faults``: inject a fault (kill, hang, latency, node-down, disk-full), or clear
        a disk-full; ``actor`` is who asked (audited)."""
        return self.request(
            "POST", "/chaos/faults", {"fault": fault, "target": target, "ms": ms, "clear": clear, "actor": actor}
        )

    def apply(self, text: str, source: str) -> dict[str, Any]:
        """``PUT /api/v1/spec`` (see :meth:`Controller.apply_config`)."""
        return self.request("PUT", "/spec", {"yaml": text, "source": source})

    def rollback(self, *, actor: str, service: str | None = None) -> dict[str, Any]:
        """``POST /api/v1/spec/rollbacks`` (see :meth:`Controller.rollback`)."""
        return self.request("POST", "/spec/rollbacks", {"service": service, "actor": actor})

    def scale(self, service: str, replicas: int) -> dict[str, Any]:
        """``PUT /api/v1/services/{service}/replicas`` (see :meth:`Controller.scale`)."""
        return self.request("PUT", f"/services/{quote(service, safe='')}/replicas", {"replicas": replicas})

    # ------------------------------------------------------------------ release arms (a delivery Platform)
    def set_arms(self, service: str, arms: Mapping[str, ArmSpec], *, stable: ArmSpec | None = None) -> dict[str, Any]:
        """``PUT /api/v1/services/{service}/arms`` (see :meth:`Controller.set_arms`)."""

        def body(arm: ArmSpec) -> dict[str, Any]:
            return {"env": dict(arm.env), "replicas": arm.replicas}

        payload = {"arms": {a: body(s) for a, s in arms.items()}, "stable": None if stable is None else body(stable)}
        return self.request("PUT", f"/services/{quote(service, safe='')}/arms", payload)

    def set_shares(self, service: str, shares: Mapping[str, int]) -> dict[str, Any]:
        """``PUT /api/v1/services/{service}/shares`` (see :meth:`Controller.set_shares`)."""
        return self.request("PUT", f"/services/{quote(service, safe='')}/shares", {"shares": dict(shares)})

    def arm_samples(self, service: str, since: float = 0.0) -> dict[str, list[tuple[float, float, bool]]]:
        """``GET /api/v1/services/{service}/samples`` (see :meth:`Controller.arm_samples`)."""
        groups = self.request("GET", f"/services/{quote(service, safe='')}/samples?since={since!r}")["groups"]
        return {g: [(float(t), float(ms), bool(e)) for t, ms, e in rows] for g, rows in groups.items()}

    def arm_status(self, service: str) -> dict[str, dict[str, int]]:
        """The groups of ``GET /api/v1/services/{service}/arms`` (see :meth:`Controller.arm_status`)."""
        groups: dict[str, dict[str, int]] = self.request("GET", f"/services/{quote(service, safe='')}/arms")["groups"]
        return groups

    def stable_spec(self, service: str) -> tuple[dict[str, str], int]:
        """The stable version's env and replica count, from ``GET /api/v1/services/{service}/arms``."""
        answer = self.request("GET", f"/services/{quote(service, safe='')}/arms")
        return dict(answer["env"]), int(answer["replicas"])
