"""The demo's payments service on the local runtime: 2 replicas on 2 nodes behind the router.

``finpilot up`` with no config runs :class:`RuntimeDemo` in its own process: the controller,
the node agents (n1 and n2, private; p1, public and idle, since payments is ``pci``), the
router and the controller API. The replicas decide over HTTP against the console's
``POST /api/v1/fraud/scores``, with a scoring token issued at start and revoked at stop. The
payments API's own token (for the traffic and the freeze sync) is minted at each start into a
chmod 600 file of the runtime's state directory (:func:`~finpilot.heal.mint_demo_payments_token`). The token
reaches them by reference only: it is put in an environment variable of this process
(:data:`SCORER_TOKEN_ENV`), which the agents inherit, and the service spec names that variable
in ``secrets``; it is never on a command line, in a log or in an audit entry.

While it runs, ``<data_dir>/runtime/demo.json`` says where the console and the router are,
for ``finpilot demo`` (the scripted tour) next to the controller API's own files.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import CONSOLE_TOKEN
from finpilot.cli._watch_autoscale_up import demo_schedule
from finpilot.core import FinpilotError, InputError, RouterSpec, RuntimeSettings, SecretRef, Settings
from finpilot.heal import (
    Controller,
    LocalRuntime,
    RuntimeScaleTarget,
    demo_runtime,
    mint_demo_payments_token,
    runtime_scrape_targets,
    state_dir_for,
)

if TYPE_CHECKING:
    from finpilot.cli._demo import DemoTraffic
    from finpilot.console import TokenInfo, TokenStore
    from finpilot.fraud import FraudService, HttpAccountSync
    from finpilot.watch import RateSchedule, ScrapeTarget

_log = logging.getLogger("finpilot.demo")

SCORER_TOKEN_ENV = "FINPILOT_DEMO_SCORER_TOKEN"  # nosec B105  # noqa: S105 - a variable name, not a secret
"""Environment variable of the ``up`` process that holds the replicas' scoring token."""
SCORER_TOKEN_NAME = "demo-payments-scorer"  # nosec B105  # noqa: S105 - a name, not a secret
"""Name of the scoring token (``-2``, ``-3``... on later runs: token names are never reused)."""
DEMO_INFO_FILE = "demo.json"
"""In the runtime's state directory while the demo runs: the console's and the router's URLs."""
READY_TIMEOUT_S = 60.0
"""How long ``up`` waits for the replicas before it serves anyway (the healer keeps at it)."""
_ACTOR = "finpilot:demo"


def demo_info_path(data_dir: Path) -> Path:
    """Where a running demo writes its console and payments URLs."""
    return state_dir_for(data_dir) / DEMO_INFO_FILE


def read_demo_info(data_dir: Path) -> dict[str, Any] | None:
    """The running demo's ``{"console": URL, "payments": URL, ...}``, or ``None`` when there is none."""
    try:
        info = json.loads(demo_info_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def demo_payments_runtime(data_dir: Path, decider_url: str, *, router_port: int = 0) -> RuntimeSettings:
    """The demo runtime, its payments replicas deciding over HTTP at ``decider_url`` with the scoring token."""
    base = demo_runtime(data_dir)
    payments = base.services["payments"]
    payments = payments.model_copy(
        update={
            "env": {
                **payments.env,
                "PAYMENTS_DECIDER_URL": decider_url,
                # Two cores shared by the console, the replicas and the traffic: 0.5 s (the
                # default) is tight enough that a busy moment would decline good payments.
                "PAYMENTS_DECIDER_TIMEOUT_S": "2",
            },
            "secrets": {**payments.secrets, "PAYMENTS_DECIDER_TOKEN": SecretRef(env=SCORER_TOKEN_ENV)},
            "router": RouterSpec(port=router_port),
        }
    )
    return base.model_copy(update={"services": {**base.services, "payments": payments}})


def local_url(host: str, port: int) -> str:
    """A URL for this machine's processes to reach a server listening on ``host:port``."""
    if host in {"", "0.0.0.0", "::"}:  # nosec B104  # noqa: S104 - the console's bind address, not ours: reach it on loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def free_port(host: str) -> int:
    """A TCP port on ``host`` that was free a moment ago."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _unique_name(store: TokenStore, base: str) -> str:
    taken = {info.name for info in store.list()}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


class RuntimeDemo:
    """The payments service as 2 replicas behind the router, scored by the console, and traffic aimed at the router.

    ``decider_url`` is the console's URL as the replicas reach it; it need not answer yet,
    since the traffic starts only at :meth:`start_traffic`, once the console serves.
    """

    def __init__(
        self,
        settings: Settings,
        fraud: FraudService,
        *,
        store: TokenStore,
        ledger: Ledger,
        decider_url: str,
        router_port: int = 0,
        traffic_rate: float = 20.0,
        surge: bool = False,
        console_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.console_url = console_url or decider_url
        """The console's URL (the decider is the fraud router when scorers run apart from it)."""
        self.fraud = fraud
        self.store = store
        self.ledger = ledger
        self.decider_url = decider_url
        self.traffic_rate = traffic_rate
        self.schedule: RateSchedule | None = (
            demo_schedule(traffic_rate, origin=time.time()) if surge and traffic_rate > 0 else None
        )
        """The traffic's day with its "market open" surge (None: a steady rate)."""
        self.runtime = demo_payments_runtime(settings.data_dir, decider_url, router_port=router_port)
        self.url = ""
        self.nodes: list[str] = []
        self._local: LocalRuntime | None = None
        self._token: TokenInfo | None = None
        self._sync: HttpAccountSync | None = None
        self._traffic: DemoTraffic | None = None
        self._payments_token: SecretRef | None = None

    def start(self) -> str:
        """Issue the scoring token, start the runtime and wait for the replicas; the router's URL."""
        from finpilot.cli._token_cmd import issue_token  # the token module imports the console lazily too
        from finpilot.fraud import AccountSync, HttpAccountSync

        self._token, secret = issue_token(
            self.store, self.ledger, name=_unique_name(self.store, SCORER_TOKEN_NAME), role="operator"
        )
        # The agents inherit this process's environment; the spec names the variable, never the value.
        os.environ[SCORER_TOKEN_ENV] = secret
        del secret
        (self.settings.data_dir / "payments").mkdir(parents=True, exist_ok=True)
        # The payments API token: minted for this run, read by the replicas and the clients by reference.
        self._payments_token = mint_demo_payments_token(self.settings.data_dir)
        local = LocalRuntime(self.runtime, self.settings.data_dir, self.ledger)
        try:
            local.__enter__()
        except OSError as exc:  # the router binds first, before any agent starts
            router = self.runtime.services["payments"].router
            raise InputError(
                f"cannot listen on 127.0.0.1:{router.port if router else 0} for the payments router: "
                f"{exc.strerror or exc}",
                field="--payments-port",
                fix="choose a free port (0 picks one)",
            ) from None
        self._local = local
        status = self._wait_ready(READY_TIMEOUT_S)
        host, port = status["services"]["payments"]["router"]
        self.url = local_url(str(host), int(port))
        self.nodes = sorted({r["node"] for r in status["replicas"].values() if r["service"] == "payments"})
        self._sync = HttpAccountSync(self.url, token=self._payments_token)
        self.fraud.add_observer(AccountSync(self._sync))
        info = {
            "console": self.console_url,
            "fraud_scoring": self.decider_url,
            "payments": self.url,
            "pid": os.getpid(),
            "controller": local.api.url,
            # The delivery tour tops the traffic up to what its canary judge needs.
            "traffic_rate": self.traffic_rate,
            # The watch tour waits until the latency detectors have learned from this moment on.
            "started_at": time.time(),
            # `finpilot demo --part surge` waits for the next surge and reports how it was met.
            "surge": None if self.schedule is None else self.schedule.as_dict(),
        }
        path = demo_info_path(self.settings.data_dir)
        path.write_text(json.dumps(info), encoding="utf-8")
        return self.url

    def _wait_ready(self, timeout: float) -> dict[str, Any]:
        assert self._local is not None
        controller = self._local.controller
        deadline = time.monotonic() + timeout
        status = controller.status()
        while time.monotonic() < deadline:
            service = status["services"]["payments"]
            if service["ready"] >= service["replicas"]:
                return status
            time.sleep(0.1)
            status = controller.status()
        # The healer keeps trying; the console is more use served than not.
        _log.warning(
            "payments: %d of %d replicas ready after %.0f s (see %s)",
            status["services"]["payments"]["ready"],
            status["services"]["payments"]["replicas"],
            timeout,
            state_dir_for(self.settings.data_dir) / "logs",
        )
        return status

    @property
    def controller(self) -> Controller | None:
        """The running runtime's controller (``None`` before :meth:`start` or after :meth:`stop`)."""
        return self._local.controller if self._local is not None else None

    def scrape_targets(self) -> list[ScrapeTarget]:
        """The routers and running replicas to scrape now (none before :meth:`start` or after :meth:`stop`)."""
        local = self._local
        return runtime_scrape_targets(local.controller.status()) if local is not None else []

    def scale_target(self) -> RuntimeScaleTarget:
        """The running runtime as the autoscaler's target (after :meth:`start`)."""
        if self._local is None:
            raise InputError("the demo runtime is not running", field="runtime", fix="start it first")
        return RuntimeScaleTarget(self._local.controller, name="demo")

    def start_traffic(self) -> None:
        """Start the generated traffic at the router."""
        from finpilot.cli._demo import DemoTraffic

        if self._traffic is None and self.url and self._payments_token is not None:
            self._traffic = DemoTraffic(
                self.url, rate=self.traffic_rate, token=self._payments_token, schedule=self.schedule
            )
            self._traffic.start()

    def stop(self) -> None:
        """Stop the traffic, the runtime, then revoke the scoring token; idempotent."""
        if self._traffic is not None:
            self._traffic.stop()
            self._traffic = None
        demo_info_path(self.settings.data_dir).unlink(missing_ok=True)
        if self._local is not None:
            local, self._local = self._local, None
            local.__exit__(None, None, None)
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        os.environ.pop(SCORER_TOKEN_ENV, None)
        if self._token is not None:
            token, self._token = self._token, None
            # Revoke first, then record: a token nobody uses any more must die even if the ledger fails.
            info = self.store.revoke(token.id)
            entry = CONSOLE_TOKEN.entry(
                actor=_ACTOR,
                action="revoke",
                subject=f"token:{info.id}",
                outcome="ok",
                evidence={"role": info.role, "name": info.name, "reason": "demo stopped"},
            )
            try:
                self.ledger.append(entry)
            except FinpilotError as exc:
                _log.warning("scoring token %s revoked, but not recorded: %s", info.id, exc.message)
