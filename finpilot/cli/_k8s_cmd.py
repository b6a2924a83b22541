"""``finpilot k8s``: render the service spec as Kubernetes manifests, apply them, and heal dead nodes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from finpilot.cli._context import cli_actor, cli_state, ledger_for, settings_for
from finpilot.cli._output import JsonFlag, err, out, print_json
from finpilot.core import RuntimeSettings, load_settings
from finpilot.heal import (
    DeadNodeHealer,
    DeadNodePolicy,
    K8sOptions,
    KubernetesCluster,
    apply_manifests,
    demo_runtime,
    kube_api_client,
    render_manifests,
    write_manifests,
)

k8s_app = typer.Typer(
    help="Kubernetes backend: render manifests from runtime.services, apply them, heal dead nodes.",
    no_args_is_help=True,
)
"""The ``k8s`` command group."""

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", dir_okay=False, help="Config file to render from (default: the global --config)."),
]
NamespaceOption = Annotated[str, typer.Option(help="Namespace the objects go in.")]
ImageOption = Annotated[str, typer.Option(help="Container image that holds finpilot and the services.")]
GatewayOption = Annotated[str, typer.Option(help="Gateway (Gateway API) the HTTPRoutes attach to.")]
GatewayNsOption = Annotated[str, typer.Option(help="Namespace of that Gateway.")]
KubeconfigOption = Annotated[
    Path | None, typer.Option(dir_okay=False, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
]
ContextOption = Annotated[str | None, typer.Option(help="kubeconfig context (default: the current one).")]

_DEFAULTS = K8sOptions()


def _runtime(ctx: typer.Context, config: Path | None) -> RuntimeSettings:
    if config is not None:
        return load_settings(config).runtime
    settings = settings_for(ctx)
    if cli_state(ctx).config_file() is None and not settings.runtime.services:
        # No finpilot.yaml: the built-in demo settings, whose stack is the runtime's demo.
        err().print("note: no finpilot.yaml here; rendering the built-in demo stack")
        return demo_runtime(Path(settings.data_dir))
    return settings.runtime


@k8s_app.command("render")
def render(
    ctx: typer.Context,
    config: ConfigOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", file_okay=False, help="Write one YAML file per service here (else stdout).")
    ] = None,
    namespace: NamespaceOption = _DEFAULTS.namespace,
    image: ImageOption = _DEFAULTS.image,
    gateway: GatewayOption = _DEFAULTS.gateway_name,
    gateway_namespace: GatewayNsOption = _DEFAULTS.gateway_namespace,
    as_json: JsonFlag = False,
) -> None:
    """Render Deployment, Service, PDB, HPA, NetworkPolicy and HTTPRoute for each service in runtime.services."""
    options = K8sOptions(namespace=namespace, image=image, gateway_name=gateway, gateway_namespace=gateway_namespace)
    groups = render_manifests(_runtime(ctx, config), options)
    objects = [obj for group in groups.values() for obj in group]
    paths = write_manifests(groups, out_dir) if out_dir is not None else []
    if as_json:
        # One shape with or without --out: the objects always, and the files written (none to stdout).
        print_json({"objects": objects, "files": [str(p) for p in paths]})
    elif out_dir is not None:
        for path in paths:
            out().print(f"wrote {escape(str(path))}")
    else:
        typer.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)


@k8s_app.command("apply")
def apply(
    ctx: typer.Context,
    config: ConfigOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = _DEFAULTS.namespace,
    image: ImageOption = _DEFAULTS.image,
    gateway: GatewayOption = _DEFAULTS.gateway_name,
    gateway_namespace: GatewayNsOption = _DEFAULTS.gateway_namespace,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Server-side dry run: validate, change nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Render and server-side apply the manifests through the Kubernetes API (untested against a live cluster)."""
    options = K8sOptions(namespace=namespace, image=image, gateway_name=gateway, gateway_namespace=gateway_namespace)
    groups = render_manifests(_runtime(ctx, config), options)
    api = kube_api_client(kubeconfig, context)
    with ledger_for(ctx) as ledger:
        applied = apply_manifests(
            [obj for group in groups.values() for obj in group], api, ledger, actor=cli_actor(), dry_run=dry_run
        )
    if as_json:
        print_json({"applied": applied, "dry_run": dry_run})
    else:
        for ref in applied:
            out().print(f"{'validated' if dry_run else 'applied'} {escape(ref)}")


@k8s_app.command("heal-nodes")
def heal_nodes(
    ctx: typer.Context,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    not_ready_after: Annotated[
        float, typer.Option(min=0, help="Seconds a node must be NotReady before it is cordoned and drained.")
    ] = 15.0,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks at the cluster.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Look once, act, and exit.")] = False,
) -> None:
    """Cordon and evict pods from nodes NotReady too long (untested against a live cluster)."""
    healer_cluster = KubernetesCluster(kube_api_client(kubeconfig, context))
    with ledger_for(ctx) as ledger:
        healer = DeadNodeHealer(
            healer_cluster, ledger, DeadNodePolicy(not_ready_after_s=not_ready_after), actor=cli_actor()
        )
        while True:
            plan = healer.tick()
            for action in plan.actions:
                out().print(f"{action.kind} {escape(action.pod or action.node)}: {escape(action.reason)}")
            if plan.held_back:
                err().print(f"[yellow]held back:[/] {escape(plan.held_back)}")
            if once:
                return
            time.sleep(interval)
