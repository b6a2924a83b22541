"""The deploy's artifact check: the supply chain's ``verify_artifact`` as the rollout's verifier hook.

A rollout started with an artifact must see it verify (its digest named by the signature and/or
provenance, each envelope signed by the trusted key, the provenance SLSA v1); one whose config
says ``require_signature`` must also see at least one signature verify. A failure raises a
:class:`~finpilot.core.FinpilotError` and the rollout engine records the refusal
(``deliver.rollout`` action ``refuse``) before anything is deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from finpilot.core import InputError
from finpilot.deliver._rollout import ArtifactVerifier
from finpilot.deliver._supply import verify_artifact


def deploy_verifier(
    artifact: Path | None,
    *,
    provenance: Path | None = None,
    signature: Path | None = None,
    public_key: Path | None = None,
    require_signature: bool = False,
) -> ArtifactVerifier | None:
    """The hook for :func:`new_rollout`, or None when there is nothing to check and nothing required.

    With ``require_signature`` and no ``artifact`` the hook still exists, and refuses: a policy
    that requires a signed artifact is never met by naming none.
    """
    if artifact is None and not require_signature:
        if provenance is not None or signature is not None:
            raise InputError(
                "a signature or provenance was given without the artifact it is about",
                field="artifact",
                fix="pass --artifact FILE (the built wheel or bundle that was signed)",
            )
        return None

    def verify(release: str, env: Mapping[str, str]) -> None:
        # The release and env are not part of the check: the envelopes bind the artifact's bytes.
        del release, env
        if artifact is None:
            raise InputError(
                "the rollout requires a signed artifact, and none was given",
                field="artifact",
                fix="pass --artifact FILE --signature FILE (and --public-key KEY), or set require_signature: false",
            )
        verify_artifact(
            artifact,
            provenance=provenance,
            signature=signature,
            public_key=public_key,
            require_signature=require_signature,
        ).raise_for_failure()

    return verify
