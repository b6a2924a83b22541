"""Waivers: a named, owned, justified and dated exception for one finding (by fingerprint, or rule and path).

A waiver file is YAML::

    waivers:
      - id: W-12
        fingerprint: 3f2a...          # or: rule: sql-string-concat  path: src/legacy/*.py
        owner: alice@example.com
        justification: parameterised in the next release; input is an enum
        expires: 2026-12-31

A waiver past its ``expires`` date fails the gate and is named; one without an owner, a
justification or an expiry is bad input.
"""

from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from finpilot.core import InputError, StrictModel
from finpilot.deliver._gate._finding import Finding


class Waiver(StrictModel):
    """One exception."""

    id: str = Field(min_length=1, max_length=64)
    fingerprint: str | None = None
    rule: str | None = Field(default=None, description="A rule id (of any tool that reported the finding).")
    path: str | None = Field(default=None, description="A file path or glob, with rule.")
    owner: str = Field(min_length=1)
    justification: str = Field(min_length=1)
    expires: dt.date

    @model_validator(mode="after")
    def _target(self) -> Waiver:
        if self.fingerprint is None and (self.rule is None or self.path is None):
            raise ValueError("a waiver names a fingerprint, or a rule and a path")
        return self

    def expired(self, today: dt.date) -> bool:
        """Whether the waiver's last day has passed."""
        return today > self.expires

    def covers(self, finding: Finding) -> bool:
        """Whether this waiver is about ``finding``."""
        if self.fingerprint is not None:
            return self.fingerprint == finding.fingerprint
        assert self.rule is not None  # the validator ensures both
        assert self.path is not None
        rule_ok = any(self.rule in (r, r.split(":", 1)[-1]) for r in finding.rules)
        return rule_ok and fnmatchcase(finding.file, self.path)


def load_waivers(path: Path) -> list[Waiver]:
    """Read a waiver file; ``InputError`` naming the waiver and field that are wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"cannot read waivers {path}: {err}", field="--waivers", fix="name a YAML file") from None
    items = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{path} has no 'waivers' list", field="waivers", fix="write waivers: [ {id: ..., ...} ]")
    waivers = []
    for i, item in enumerate(items):
        try:
            waivers.append(Waiver.model_validate(item))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "waiver"
            name = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise InputError(
                f"waiver {name} in {path}: {where}: {first['msg']}",
                field=f"waivers[{i}].{where}",
                fix="every waiver needs id, fingerprint (or rule and path), owner, justification and expires",
            ) from None
    ids = [w.id for w in waivers]
    if len(set(ids)) != len(ids):
        raise InputError(f"waiver ids repeat in {path}", field="waivers", fix="give each waiver its own id")
    return waivers
