"""Silences: matchers plus a time span; a silenced alert still exists, it just never notifies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from finpilot.watch._alerts._matchers import Matcher, all_match

SilenceState = Literal["pending", "active", "expired"]
"""Alertmanager's silence states: not started yet, in force, over."""


@dataclass(frozen=True)
class Silence:
    """Mutes every alert whose labels satisfy all ``matchers`` between ``starts_at`` and ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def state(self, now: float) -> SilenceState:
        """Where this silence is at ``now``."""
        if now >= self.ends_at:
            return "expired"
        return "active" if now >= self.starts_at else "pending"

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether this silence mutes an alert with ``labels`` at ``now``."""
        return self.state(now) == "active" and all_match(self.matchers, labels)

    def to_json(self, now: float) -> dict[str, object]:
        """The one JSON shape of a silence."""
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_by": self.created_by,
            "comment": self.comment,
            "state": self.state(now),
        }
