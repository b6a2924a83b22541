"""Self-healing runtime: service specs, local node agents, router, reconciler, backups and chaos."""

from finpilot.heal._api import ControllerApi, RuntimeClient
from finpilot.heal._backoff import Backoff, backoff_delay
from finpilot.heal._backup import (
    BackupInfo,
    BackupScheduler,
    PruneReport,
    create_backup,
    list_backups,
    prune_backups,
    retention_plan,
)
from finpilot.heal._backup_crypto import BackupChunkError, write_backup_key
from finpilot.heal._backup_drill import DrillCheck, DrillReport, restore_drill
from finpilot.heal._backup_manifest import BackupManifest
from finpilot.heal._controller import Controller
from finpilot.heal._k8s_apply import apply_manifests, kube_api_client
from finpilot.heal._k8s_nodes import (
    ClusterApi,
    DeadNodeHealer,
    DeadNodePlan,
    DeadNodePolicy,
    KubernetesCluster,
    NodeAction,
    NodeState,
    PodState,
    plan_dead_nodes,
)
from finpilot.heal._k8s_render import K8sOptions, render_manifests, render_service, write_manifests
from finpilot.heal._local import LocalRuntime, demo_runtime, state_dir_for
from finpilot.heal._placement import Placement, place
from finpilot.heal._router import Backend, Router, RouterThread
from finpilot.heal._spec import (
    Classification,
    DisruptionSpec,
    NodeSpec,
    PoolSpec,
    ProbeSpec,
    ProbesSpec,
    ResourcesSpec,
    RestartSpec,
    RouterSpec,
    RuntimeSettings,
    SecretRef,
    ServiceSpec,
)

__all__ = [
    "Backend",
    "Backoff",
    "BackupChunkError",
    "BackupInfo",
    "BackupManifest",
    "BackupScheduler",
    "Classification",
    "ClusterApi",
    "Controller",
    "ControllerApi",
    "DeadNodeHealer",
    "DeadNodePlan",
    "DeadNodePolicy",
    "DisruptionSpec",
    "DrillCheck",
    "DrillReport",
    "K8sOptions",
    "KubernetesCluster",
    "LocalRuntime",
    "NodeAction",
    "NodeSpec",
    "NodeState",
    "Placement",
    "PodState",
    "PoolSpec",
    "ProbeSpec",
    "ProbesSpec",
    "PruneReport",
    "ResourcesSpec",
    "RestartSpec",
    "Router",
    "RouterSpec",
    "RouterThread",
    "RuntimeClient",
    "RuntimeSettings",
    "SecretRef",
    "ServiceSpec",
    "apply_manifests",
    "backoff_delay",
    "create_backup",
    "demo_runtime",
    "kube_api_client",
    "list_backups",
    "place",
    "plan_dead_nodes",
    "prune_backups",
    "render_manifests",
    "render_service",
    "restore_drill",
    "retention_plan",
    "state_dir_for",
    "write_backup_key",
    "write_manifests",
]
