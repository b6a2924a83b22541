"""Self-healing runtime: local node agents, router, reconciler, database HA, backups, runbooks and chaos.

The code lives in private rooms: ``_runtime`` (agents, controller, reconciler, placement),
``_router``, ``_db`` (PostgreSQL HA pair, Patroni), ``_backup``, ``_runbook``, ``_chaos`` (the
drill) and ``_k8s``. The service spec it runs from (``RuntimeSettings``, ``ServiceSpec``, ...) is
configuration, so its models live in :mod:`finpilot.core`.
"""

from finpilot.heal._api import RuntimeClient
from finpilot.heal._backup._crypto import write_backup_key
from finpilot.heal._backup._drill import restore_drill
from finpilot.heal._backup._schedule import backup_schedule_wanted, scheduled_backups
from finpilot.heal._backup._store import create_backup, list_backups, prune_backups
from finpilot.heal._chaos._drill import drill_runtime, run_chaos_drill
from finpilot.heal._chaos._faults import default_faults
from finpilot.heal._db._cluster import PgCluster, ha_dsn, pg_cluster_for
from finpilot.heal._db._failover import DbHealer, kill_primary
from finpilot.heal._db._patroni import PatroniClient, PatroniHealer, kill_patroni_leader, patroni_dsn
from finpilot.heal._incidents import Incident, build_incidents
from finpilot.heal._k8s._apply import apply_manifests, kube_api_client
from finpilot.heal._k8s._nodes import DeadNodeHealer, DeadNodePolicy, KubernetesCluster
from finpilot.heal._k8s._render import K8sOptions, render_manifests, write_manifests
from finpilot.heal._k8s._scale import KubernetesScaleTarget, render_hpa_bounds, render_scale
from finpilot.heal._router._balancer import Backend, Router, RouterThread
from finpilot.heal._runbook._engine import RunbookEngine
from finpilot.heal._runbook._page import Pager
from finpilot.heal._runbook._spec import Runbook, load_runbooks
from finpilot.heal._runtime._arms import ArmSpec
from finpilot.heal._runtime._controller import Controller
from finpilot.heal._runtime._local import (
    LocalRuntime,
    demo_payments_token,
    demo_runtime,
    mint_demo_payments_token,
    state_dir_for,
)
from finpilot.heal._runtime._scale_target import RuntimeScaleTarget
from finpilot.heal._runtime._scrape_targets import runtime_scrape_targets

__all__ = [
    "ArmSpec",
    "Backend",
    "Controller",
    "DbHealer",
    "DeadNodeHealer",
    "DeadNodePolicy",
    "Incident",
    "K8sOptions",
    "KubernetesCluster",
    "KubernetesScaleTarget",
    "LocalRuntime",
    "Pager",
    "PatroniClient",
    "PatroniHealer",
    "PgCluster",
    "Router",
    "RouterThread",
    "Runbook",
    "RunbookEngine",
    "RuntimeClient",
    "RuntimeScaleTarget",
    "apply_manifests",
    "backup_schedule_wanted",
    "build_incidents",
    "create_backup",
    "default_faults",
    "demo_payments_token",
    "demo_runtime",
    "drill_runtime",
    "ha_dsn",
    "kill_patroni_leader",
    "kill_primary",
    "kube_api_client",
    "list_backups",
    "load_runbooks",
    "mint_demo_payments_token",
    "patroni_dsn",
    "pg_cluster_for",
    "prune_backups",
    "render_hpa_bounds",
    "render_manifests",
    "render_scale",
    "restore_drill",
    "run_chaos_drill",
    "runtime_scrape_targets",
    "scheduled_backups",
    "state_dir_for",
    "write_backup_key",
    "write_manifests",
]
