"""Roles and what each may do.

A role is a named set of permissions; endpoints ask for a permission, never for a role,
so adding a role (or a permission for a new capability) is one edit here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

Role = Literal["viewer", "auditor", "operator", "admin"]
"""The roles an API token can hold."""

ROLES: tuple[Role, ...] = get_args(Role)
"""Every role, least powerful first."""


class Permission(StrEnum):
    """One thing a token may be allowed to do."""

    READ = "read"
    """See pages, entries, checkpoints, proofs and the public key."""
    VERIFY = "verify"
    """Run a full verification of the ledger."""
    EXPORT = "export"
    """Download the offline-verifiable export bundle."""
    APPEND = "append"
    """Append audit entries."""
    CHECKPOINT = "checkpoint"
    """Sign a checkpoint now."""
    ERASE = "erase"
    """Erase a data subject's personal data."""
    MANAGE_TOKENS = "manage_tokens"
    """Create, list and revoke API tokens."""
    FRAUD = "fraud"
    """Score payments and submit late fraud labels."""
    FREEZE = "freeze"
    """Freeze and unfreeze fraud accounts by hand."""
    RELEASE = "release"
    """Promote, abort, pause and resume rollouts."""
    SILENCE = "silence"
    """Set and expire alert silences."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "auditor": frozenset({Permission.READ, Permission.VERIFY, Permission.EXPORT}),
    "operator": frozenset(
        {
            Permission.READ,
            Permission.VERIFY,
            Permission.APPEND,
            Permission.CHECKPOINT,
            Permission.FRAUD,
            Permission.FREEZE,
            Permission.RELEASE,
            Permission.SILENCE,
        }
    ),
    "admin": frozenset(Permission),
}
"""What each role may do."""
