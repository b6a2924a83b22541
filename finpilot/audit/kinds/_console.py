"""Kinds the console writes: API tokens, mutating requests, and its own start and stop."""

from __future__ import annotations

from pydantic import Field

from finpilot.audit._kind import KINDS, EntryKind, Evidence


class ConsoleTokenEvidence(Evidence):
    """The token's role and name (never its secret)."""

    role: str
    name: str
    reason: str | None = None


CONSOLE_TOKEN = KINDS.declare(
    EntryKind(
        name="console.token",
        version=1,
        meaning="An API token was created or revoked (from the console or the CLI).",
        evidence=ConsoleTokenEvidence,
        actors=("*",),
        actions=("create", "revoke"),
        subjects=("token:*",),
        outcomes=("ok",),
    )
)


class ConsoleRequestEvidence(Evidence):
    """Where a mutating request came from (never its body, a cookie or a token)."""

    client: str = Field(description="The client's address, or 'unknown'.")
    token_id: str | None = Field(description="The API token's id; None when unauthenticated.")


CONSOLE_REQUEST = KINDS.declare(
    EntryKind(
        name="console.request",
        version=1,
        meaning="A mutating request to the console succeeded or was refused (401, 403); the action is the route.",
        evidence=ConsoleRequestEvidence,
        actors=("token:*", "anonymous"),
        actions=("POST *", "PUT *", "PATCH *", "DELETE *"),
        subjects=("console",),
        outcomes=("2*", "3*", "401", "403"),
    )
)


class ConsoleLifecycleEvidence(Evidence):
    """Where the console listened, and which finpilot version it ran."""

    url: str
    version: str


CONSOLE_LIFECYCLE = KINDS.declare(
    EntryKind(
        name="console.lifecycle",
        version=1,
        meaning="The console started or stopped serving.",
        evidence=ConsoleLifecycleEvidence,
        actors=("finpilot:console",),
        actions=("start", "stop"),
        subjects=("console",),
        outcomes=("ok",),
    )
)
