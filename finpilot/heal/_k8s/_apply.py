"""Apply rendered manifests through the official Kubernetes client (server-side apply), from a kubeconfig.

NOT run against a live cluster here: the code follows the client's documented API
(``DynamicClient.server_side_apply``) and is covered only up to loading the kubeconfig.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from finpilot.audit import Ledger
from finpilot.audit.kinds import K8S_APPLY
from finpilot.core import ConfigError, StorageError

FIELD_MANAGER = "finpilot"


def kube_api_client(kubeconfig: Path | None = None, context: str | None = None) -> Any:
    """An API client from a kubeconfig (default: $KUBECONFIG or ~/.kube/config)."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    if kubeconfig is not None and not kubeconfig.is_file():
        raise ConfigError(
            f"kubeconfig {kubeconfig} does not exist", field="kubeconfig", fix="pass --kubeconfig PATH to a kubeconfig"
        )
    try:
        loader: Any = config.new_client_from_config  # untyped in the client
        return loader(config_file=str(kubeconfig) if kubeconfig is not None else None, context=context)
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        # The message may quote the kubeconfig's structure but never its credentials' values.
        raise ConfigError(
            f"cannot load the kubeconfig: {type(exc).__name__}: {str(exc)[:200]}",
            field="kubeconfig",
            fix="check the file and the --context name with `kubectl config get-contexts`",
        ) from None


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj['kind']}/{where}{meta.get('name')}"


def apply_manifests(
    objects: Sequence[Mapping[str, Any]],
    api_client: Any,
    ledger: Ledger,
    *,
    actor: str = "finpilot:k8s",
    dry_run: bool = False,
) -> list[str]:
    """Server-side apply each object in order; one audit entry names them all before the first is applied."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    refs = [_ref(obj) for obj in objects]
    ledger.append(
        K8S_APPLY.entry(
            actor=actor,
            action="apply",
            subject=f"k8s:{len(refs)} objects",
            outcome="dry-run" if dry_run else "started",
            evidence={"objects": refs, "field_manager": FIELD_MANAGER},
        )
    )
    dynamic_client: Any = DynamicClient  # untyped in the client
    dynamic = dynamic_client(api_client)
    applied = []
    for obj, ref in zip(objects, refs, strict=True):
        try:
            resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            dynamic.server_side_apply(
                resource,
                body=dict(obj),
                name=obj["metadata"]["name"],
                namespace=obj["metadata"].get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
                dry_run="All" if dry_run else None,
            )
        except ResourceNotFoundError:
            raise StorageError(
                f"the cluster does not serve {obj['apiVersion']} {obj['kind']} ({ref})",
                fix="install the Gateway API CRDs for HTTPRoute, or upgrade the cluster",
            ) from None
        except ApiException as exc:
            raise StorageError(f"applying {ref} failed: HTTP {exc.status} {exc.reason}") from None
        applied.append(ref)
    return applied
