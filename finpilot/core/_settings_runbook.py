"""The ``runbooks:`` section of ``finpilot.yaml``: where runbook files live and where pages go.

The runbook files themselves (trigger, actions, rate limit, escalation) are validated by
:mod:`finpilot.heal`; this section only says where they are and how a page is delivered.
The webhook secret is named by reference (:class:`~finpilot.core.SecretRef`), never written here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel
from finpilot.core._secret import SecretRef


class RunbookSettings(StrictModel):
    """Runbooks as code: a directory of YAML runbooks the runtime runs on audit events, and the pager."""

    dir: Path | None = Field(
        default=None,
        description=(
            "Directory of runbook files (*.yaml, *.yml), read by `finpilot runtime up` and `finpilot runbook list`. "
            "A relative path is relative to the config file. Empty means no runbooks."
        ),
    )
    webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description=(
            "URL that receives each page and escalation as a signed JSON POST. Empty means pages are "
            "kept in the audit ledger only."
        ),
    )
    secret: SecretRef | None = Field(
        default=None,
        description=(
            "The webhook's HMAC-SHA256 secret by reference, {env: NAME} or {file: PATH} (never the secret itself). "
            "Required with webhook_url."
        ),
    )
    timeout_s: float = Field(default=5, gt=0, le=60, description="Timeout of one webhook request, in seconds.")
    queue_size: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Audit events waiting for the runbook thread; beyond this, events are counted and dropped.",
    )

    @model_validator(mode="after")
    def _signed(self) -> RunbookSettings:
        if self.webhook_url is not None and self.secret is None:
            raise FieldProblem(
                "webhook_url needs secret: pages are always signed",
                path=("secret",),
                fix="set secret: {env: NAME}, the variable holding the secret (or {file: PATH})",
            )
        return self
