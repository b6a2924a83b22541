"""What the metrics scraper should read on a local runtime: every router and every running replica.

The scraper asks before every round (:data:`finpilot.watch.TargetSource`), so replicas that a
restart, a drain or the autoscaler adds or removes are followed without configuration. Replicas
are read on ``/metrics`` (the payments service serves it there), routers on ``/-/metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finpilot.heal._runtime._agent import HOST
from finpilot.watch import ScrapeTarget

REPLICA_METRICS_PATH = "/metrics"
"""Where a replica serves its Prometheus text."""

ROUTER_JOB = "finpilot-router"
"""The ``job`` label of router series (the routers label their series with ``service`` themselves)."""


def runtime_scrape_targets(status: Mapping[str, Any]) -> list[ScrapeTarget]:
    """Scrape targets for a runtime's status (:meth:`Controller.status`): routers and running replicas.

    A replica's series get ``job`` = its service, ``instance`` = ``127.0.0.1:port``, and the labels
    ``replica`` (its id), ``slot`` and ``node``, so an alert on one replica names what a runbook acts on.
    """
    targets: list[ScrapeTarget] = []
    for service in sorted(status.get("services", {})):
        router = status["services"][service].get("router")
        if router:
            host, port = router
            targets.append(ScrapeTarget(f"http://{host}:{port}/-/metrics", job=ROUTER_JOB))
    for replica_id, replica in sorted(status.get("replicas", {}).items()):
        if replica.get("state") != "running" or not replica.get("port"):
            continue
        targets.append(
            ScrapeTarget(
                f"http://{HOST}:{replica['port']}{REPLICA_METRICS_PATH}",
                job=str(replica["service"]),
                labels={"replica": replica_id, "slot": str(replica["slot"]), "node": str(replica["node"])},
            )
        )
    return targets
