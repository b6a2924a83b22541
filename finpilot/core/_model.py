"""The one strict pydantic base: unknown fields are errors, instances are immutable facts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that refuses unknown fields and cannot be changed after it is built.

    Configuration sections, runbook specs and audit evidence all derive from it, so a typo in a
    field name is an error naming that field everywhere, never a silently ignored key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
