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
from finpilot.heal._backup_schedule import backup_schedule_wanted, scheduled_backups
from finpilot.heal._controller import Controller
from finpilot.heal._drill import drill_runtime, run_chaos_drill
from finpilot.heal._drill_faults import Fault, Injected, default_faults
from finpilot.heal._drill_ledger import PaymentsCheck, check_payments
from finpilot.heal._drill_report import ChaosDrillReport, FaultResult
from finpilot.heal._incidents import AuditRecord, Incident, IncidentPhase, build_incidents
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
from finpilot.heal._pg_cluster import PgCluster, ha_dsn, pg_cluster_for
from finpilot.heal._pg_failover import DbHealer, FailoverReport, kill_primary
from finpilot.heal._pg_node import PgNode, Probe
from finpilot.heal._pg_patroni import PatroniClient, PatroniHealer, kill_patroni_leader, patroni_dsn
from finpilot.heal._placement import Placement, place
from finpilot.heal._ratelimit import Decision, RateLimiter
from finpilot.heal._router import Backend, Router, RouterThread
from finpilot.heal._runbook import RunbookEngine
from finpilot.heal._runbook_actions import ActionHandler, ActionRequest
from finpilot.heal._runbook_page import Pager, page_signature
from finpilot.heal._runbook_spec import (
    ActionSpec,
    Condition,
    Escalation,
    RateLimit,
    Runbook,
    Trigger,
    load_runbooks,
    parse_runbook,
)
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
    "ActionHandler",
    "ActionRequest",
    "ActionSpec",
    "AuditRecord",
    "Backend",
    "Backoff",
    "BackupChunkError",
    "BackupInfo",
    "BackupManifest",
    "BackupScheduler",
    "ChaosDrillReport",
    "Classification",
    "ClusterApi",
    "Condition",
    "Controller",
    "ControllerApi",
    "DbHealer",
    "DeadNodeHealer",
    "DeadNodePlan",
    "DeadNodePolicy",
    "Decision",
    "DisruptionSpec",
    "DrillCheck",
    "DrillReport",
    "Escalation",
    "FailoverReport",
    "Fault",
    "FaultResult",
    "Incident",
    "IncidentPhase",
    "Injected",
    "K8sOptions",
    "KubernetesCluster",
    "LocalRuntime",
    "NodeAction",
    "NodeSpec",
    "NodeState",
    "Pager",
    "PatroniClient",
    "PatroniHealer",
    "PaymentsCheck",
    "PgCluster",
    "PgNode",
    "Placement",
    "PodState",
    "PoolSpec",
    "Probe",
    "ProbeSpec",
    "ProbesSpec",
    "PruneReport",
    "RateLimit",
    "RateLimiter",
    "ResourcesSpec",
    "RestartSpec",
    "Router",
    "RouterSpec",
    "RouterThread",
    "Runbook",
    "RunbookEngine",
    "RuntimeClient",
    "RuntimeSettings",
    "SecretRef",
    "ServiceSpec",
    "Trigger",
    "apply_manifests",
    "backoff_delay",
    "backup_schedule_wanted",
    "build_incidents",
    "check_payments",
    "create_backup",
    "default_faults",
    "demo_runtime",
    "drill_runtime",
    "ha_dsn",
    "kill_patroni_leader",
    "kill_primary",
    "kube_api_client",
    "list_backups",
    "load_runbooks",
    "page_signature",
    "parse_runbook",
    "patroni_dsn",
    "pg_cluster_for",
    "place",
    "plan_dead_nodes",
    "prune_backups",
    "render_manifests",
    "render_service",
    "restore_drill",
    "retention_plan",
    "run_chaos_drill",
    "scheduled_backups",
    "state_dir_for",
    "write_backup_key",
    "write_manifests",
]
