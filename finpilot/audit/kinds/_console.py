"""Kinds the console writes: API tokens, mutating requests, refused requests in summary, and its own start and stop."""

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
        meaning=(
            "A mutating request to the console succeeded; the action is the route. Refusals (401, 403) "
            "are summarised in console.refusals (ledgers written before it hold one console.request each)."
        ),
        evidence=ConsoleRequestEvidence,
        actors=("token:*", "anonymous"),
        actions=("POST *", "PUT *", "PATCH *", "DELETE *"),
        subjects=("console",),
        outcomes=("2*", "3*", "401", "403"),
    )
)


class ConsoleRefusalsEvidence(Evidence):
    """How many requests one client address had refused over one window (never a body, cookie or token)."""

    client: str = Field(description="The client's address, or 'unknown'.")
    window_start: str = Field(description="When the window opened: the first refusal counted in it (RFC 3339).")
    window_s: float = Field(description="The window's length in seconds (console.auth_failures.window_s).")
    refused_401: int = Field(description="Requests refused as not authenticated.")
    refused_403: int = Field(description="Requests refused as not allowed (the role, or a cross-site request).")
    limited_429: int = Field(description="Requests answered 429 without being served: the client was over its limit.")
    routes: dict[str, int] = Field(description="Refusals (401, 403) by 'METHOD /route-template'.")
    actors: list[str] = Field(description="Authenticated principals among the refused (403), e.g. 'token:ci'.")


CONSOLE_REFUSALS = KINDS.declare(
    EntryKind(
        name="console.refusals",
        version=1,
        meaning=(
            "Requests from one client address refused (401, 403) or rate-limited (429) over one window, "
            "counted: the console writes one entry per window and client, at the window's end or at shutdown."
        ),
        evidence=ConsoleRefusalsEvidence,
        actors=("finpilot:console",),
        actions=("summarise",),
        subjects=("client:*",),
        outcomes=("refused", "limited"),
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
