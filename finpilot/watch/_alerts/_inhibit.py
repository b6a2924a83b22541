"""Inhibition: a firing alert that matches a rule's source mutes the alerts that match its target.

As in Alertmanager, the ``equal`` labels must have the same value in both (a missing label
counts as the empty value), and an alert never inhibits itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from finpilot.watch._alerts._matchers import Matcher, all_match, parse_matchers
from finpilot.watch._alerts._model import Alert


@dataclass(frozen=True)
class InhibitRule:
    """While a ``source`` alert fires, ``target`` alerts with the same ``equal`` labels are muted."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    @classmethod
    def parse(cls, source: Iterable[str], target: Iterable[str], equal: Iterable[str] = ()) -> InhibitRule:
        """Build a rule from matcher texts."""
        return cls(
            parse_matchers(list(source), field="inhibit.source"),
            parse_matchers(list(target), field="inhibit.target"),
            tuple(equal),
        )

    def inhibits(self, target: Mapping[str, str], source: Mapping[str, str]) -> bool:
        """Whether an alert with labels ``source`` mutes one with labels ``target``."""
        return (
            all_match(self.target, target)
            and all_match(self.source, source)
            and all(target.get(name, "") == source.get(name, "") for name in self.equal)
        )


def inhibited(alert: Alert, firing: Iterable[Alert], rules: Iterable[InhibitRule]) -> bool:
    """Whether any firing alert other than ``alert`` inhibits it under any rule."""
    rules = tuple(rules)
    if not rules:
        return False
    targeted = [rule for rule in rules if all_match(rule.target, alert.labels)]
    if not targeted:
        return False
    sources = [a for a in firing if a.state == "firing" and a.fingerprint != alert.fingerprint]
    return any(rule.inhibits(alert.labels, src.labels) for rule in targeted for src in sources)
