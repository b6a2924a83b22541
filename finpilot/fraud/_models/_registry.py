"""The model registry: which artifact is the champion, which came before it, which is on trial.

Models live in one directory, each artifact in a subdirectory (``<root>/<version>/`` when the
registry wrote it; any artifact directory found under the root counts). ``registry.json``
holds the pointers: ``champion``, ``previous`` (earlier champions, newest last, for
rollback) and ``challenger``. It is replaced atomically (write, then rename).

Every change of pointer is a ``fraud.model`` entry appended *before* the file changes, so the
ledger never lacks a change that happened: ``register`` (a challenger is added), ``promote``,
``rollback`` and ``refuse`` (a challenger judged and turned down), with the model's hash,
metrics and the champion it replaces.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finpilot.audit import Entry, Ledger
from finpilot.audit.kinds import FRAUD_MODEL
from finpilot.core import InputError, NotFoundError, StorageError
from finpilot.fraud._models._artifact import ModelArtifact, load_artifact
from finpilot.fraud._models._train import list_artifacts
from finpilot.fraud._reference import Reference

STATE_FILE = "registry.json"
"""The registry's pointer file, in the models directory."""

ACTOR = "fraud-registry"
"""Who the ledger says changed the pointers when no actor is given."""


@dataclass(frozen=True)
class RegistryState:
    """The registry's pointers (versions, i.e. the first 12 hex digits of a model's hash)."""

    champion: str | None = None
    previous: tuple[str, ...] = ()
    challenger: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what ``registry.json`` holds)."""
        return {"champion": self.champion, "previous": list(self.previous), "challenger": self.challenger}

    def role_of(self, version: str) -> str | None:
        """``champion``, ``previous``, ``challenger`` or None."""
        if version == self.champion:
            return "champion"
        if version == self.challenger:
            return "challenger"
        return "previous" if version in self.previous else None


def _clean(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in metrics.items()}


def read_state(root: Path) -> RegistryState:
    """The pointers in ``root/registry.json`` (all empty when there is none)."""
    path = root / STATE_FILE
    try:
        obj = json.loads(path.read_text())
        return RegistryState(obj.get("champion"), tuple(obj.get("previous") or ()), obj.get("challenger"))
    except FileNotFoundError:
        return RegistryState()
    except (ValueError, AttributeError, TypeError) as exc:
        raise InputError(
            f"{path} is not a registry state file: {exc}", field="registry", fix="restore it from the audit ledger"
        ) from exc


@dataclass
class ModelRegistry:
    """Champion, previous champions and challenger under ``root``; every change audited first."""

    root: Path
    ledger: Ledger
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def state(self) -> RegistryState:
        """The current pointers (all empty when the registry was never used)."""
        return read_state(self.root)

    def _write(self, state: RegistryState) -> None:
        path = self.root / STATE_FILE
        tmp = path.with_suffix(".tmp")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True))
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"could not write {path}: {exc}", field="registry") from exc

    def path_of(self, version: str) -> Path:
        """The artifact directory of ``version`` (a full hash or its first 12 digits)."""
        if self.root.is_dir():
            for info in list_artifacts(self.root):
                if version in {info.version, info.sha256}:
                    return info.path
        raise NotFoundError(
            f"no model {version} in {self.root}",
            field="version",
            fix="see the versions with `finpilot fraud model list`",
        )

    def load(self, version: str) -> ModelArtifact:
        """Load ``version`` (hash checked)."""
        return load_artifact(self.path_of(version))

    def champion(self) -> ModelArtifact:
        """Load the champion."""
        version = self.state().champion
        if version is None:
            raise NotFoundError(
                f"no champion in {self.root}",
                field="champion",
                fix="promote a model with `finpilot fraud model promote`",
            )
        return self.load(version)

    def _entry(self, action: str, artifact: ModelArtifact, actor: str, outcome: str, extra: Mapping[str, Any]) -> Entry:
        evidence: dict[str, Any] = {
            "sha256": artifact.sha256,
            "training_window": list(artifact.training_window),
            "metrics": _clean(artifact.metrics),
            **extra,
        }
        return FRAUD_MODEL.entry(
            actor=actor,
            action=action,
            subject=f"model:{artifact.version}",
            outcome=outcome,
            evidence=evidence,
        )

    def register(self, artifact: ModelArtifact, *, reference: Reference | None = None, actor: str = ACTOR) -> int:
        """Save ``artifact`` (and its drift reference) as ``<root>/<version>`` unless there, and make it the challenger.

        The ``register`` entry's index.
        """
        with self._lock:
            target = self.root / artifact.version
            try:
                existing = self.path_of(artifact.version)
            except NotFoundError:
                existing = None
            state = self.state()
            index = self.ledger.append(
                self._entry("register", artifact, actor, "ok", {"role": "challenger", "champion": state.champion})
            )
            if existing is None:
                artifact.save(target)
                if reference is not None:
                    reference.save(target)
            self._write(RegistryState(state.champion, state.previous, artifact.version))
            return index

    def promote(
        self, version: str, *, actor: str = ACTOR, reason: str = "", evaluation: Mapping[str, Any] | None = None
    ) -> int:
        """Make ``version`` the champion; the old one becomes the newest previous. Audited first; the index."""
        with self._lock:
            artifact = self.load(version)  # refuse a missing or tampered model before anything is written
            state = self.state()
            if state.champion == artifact.version:
                raise InputError(
                    f"model {artifact.version} is already the champion", field="version", fix="promote another version"
                )
            extra: dict[str, Any] = {"previous_champion": state.champion, "reason": reason}
            if evaluation is not None:
                extra["evaluation"] = dict(evaluation)
            index = self.ledger.append(self._entry("promote", artifact, actor, "ok", extra))
            previous = state.previous + ((state.champion,) if state.champion else ())
            previous = tuple(v for v in previous if v != artifact.version)
            challenger = None if state.challenger == artifact.version else state.challenger
            self._write(RegistryState(artifact.version, previous, challenger))
            return index

    def rollback(self, *, actor: str = ACTOR, reason: str = "") -> tuple[ModelArtifact, int]:
        """Make the newest previous champion the champion again; the restored model and the entry's index."""
        with self._lock:
            state = self.state()
            if not state.previous:
                raise NotFoundError(
                    f"no previous champion in {self.root} to roll back to",
                    field="previous",
                    fix="rollback needs a champion that was replaced by `finpilot fraud model promote`",
                )
            artifact = self.load(state.previous[-1])
            extra = {"replaced_champion": state.champion, "reason": reason}
            index = self.ledger.append(self._entry("rollback", artifact, actor, "ok", extra))
            self._write(RegistryState(artifact.version, state.previous[:-1], state.challenger))
            return artifact, index

    def refuse(
        self, version: str, *, actor: str = ACTOR, reason: str = "", evaluation: Mapping[str, Any] | None = None
    ) -> int:
        """Record that ``version`` was judged and not promoted; it stops being the challenger. The entry's index."""
        with self._lock:
            artifact = self.load(version)
            state = self.state()
            extra: dict[str, Any] = {"champion": state.champion, "reason": reason}
            if evaluation is not None:
                extra["evaluation"] = dict(evaluation)
            index = self.ledger.append(self._entry("refuse", artifact, actor, "refused", extra))
            if state.challenger == artifact.version:
                self._write(RegistryState(state.champion, state.previous, None))
            return index
