"""What a runbook step does: templates filled from the trigger, and the built-in actions.

Built in (the heal layer can do them itself): ``restart`` (through
:meth:`Controller.restart`), ``scale`` (a validated spec change through
:meth:`Controller.apply`), ``rollback`` (:meth:`Controller.rollback`, the spec before the
last change) and ``run`` (argv, no shell, with a timeout). ``page`` is the engine's own.
``failover`` needs the database pair (:meth:`RunbookEngine.attach_database`); ``freeze``
belongs to the fraud capability and is done by a handler its process registers
(:meth:`RunbookEngine.register_action`).

A handler takes an :class:`ActionRequest` and returns evidence (a small JSON mapping) or
raises a :class:`~finpilot.core.FinpilotError` whose message says what went wrong.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finpilot.audit import Entry, Ledger
from finpilot.core import CheckFailedError, InputError, NotFoundError, StorageError, safe_child
from finpilot.heal._db._cluster import PgCluster
from finpilot.heal._db._switch import requested_failover
from finpilot.heal._runbook._spec import TEMPLATE
from finpilot.heal._runtime._controller import Controller


@dataclass(frozen=True)
class ActionRequest:
    """One step to take: which runbook, which action, its settings (templates filled in), and the trigger."""

    runbook: str
    action: str
    params: Mapping[str, Any]
    trigger: Entry
    actor: str
    variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """What the step acts on, for the per-target rate limit and the audit subject."""
        p = self.params
        for key in ("target", "service", "account"):
            if key in p:
                return f"{self.action}:{p[key]}"
        if "argv" in p:
            return f"run:{Path(str(p['argv'][0])).name}"
        return self.action


ActionHandler = Callable[[ActionRequest], Mapping[str, Any] | None]
"""Does one step; returns evidence for its ``runbook.action`` entry, or raises a FinpilotError."""


# ---------------------------------------------------------------------- templates

_INSTANCE = re.compile(r"^(?P<slot>[^@]+)@(?P<node>[^~]+)(~\d+)?$")


def variables_for(entry: Entry) -> dict[str, Any]:
    """The template variables a trigger entry offers (``{slot}``, ``{node}``, ``{evidence.KEY}`` ...)."""
    evidence = dict(entry.evidence)
    _, _, target = entry.subject.partition(":")
    found: dict[str, Any] = {
        "kind": entry.kind,
        "action": entry.action,
        "outcome": entry.outcome,
        "subject": entry.subject,
        "target": target,
        "evidence": evidence,
    }
    instance = _INSTANCE.match(target) if entry.subject.startswith("replica:") else None
    slot = evidence.get("slot") or (instance.group("slot") if instance else None)
    if slot is None and entry.subject.startswith("replica:") and "/" in target:
        slot = target
    if isinstance(slot, str):
        found["slot"] = slot
        found["service"] = slot.split("/")[0]
    if isinstance(evidence.get("service"), str):
        found["service"] = evidence["service"]
    node = evidence.get("node") or (instance.group("node") if instance else None)
    if node is None and entry.subject.startswith("node:"):
        node = target
    if isinstance(node, str):
        found["node"] = node
    return found


def _value(variables: Mapping[str, Any], name: str) -> Any:
    current: Any = variables
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            raise InputError(
                f"template variable {{{name}}} has no value for this {variables.get('kind', '?')} entry",
                field=name,
                fix="match only entries that carry it (trigger.when), or use another variable",
            )
        current = current[part]
    return current


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """``value`` with every ``{name}`` in its strings replaced from ``variables`` (recursively)."""
    if isinstance(value, str):
        return TEMPLATE.sub(lambda m: str(_value(variables, m.group(1))), value)
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- built-in actions


def restart_action(controller: Controller, *, wait_s: float = 10.0) -> ActionHandler:
    """``restart SERVICE[/N]``: wait (up to ``wait_s``) until the replica is up, then restart it.

    A replica that is itself between restarts has nothing to restart yet; waiting for it keeps
    the step meaningful, and a replica that never comes up fails the step (and escalates).
    """

    def handle(req: ActionRequest) -> Mapping[str, Any]:
        target = str(req.params["target"])
        service, _, index = target.partition("/")
        slot = f"{service}/{index or 0}"
        deadline = time.monotonic() + wait_s
        last: Exception | None = None
        while True:
            view = next(
                (
                    {"id": iid, **rep}
                    for iid, rep in controller.status()["replicas"].items()
                    if rep["slot"] == slot and rep["role"] == "serving"
                ),
                None,
            )
            if view is not None and view["ready"] and view["state"] == "running":
                try:
                    return controller.restart(slot, actor=req.actor)
                except NotFoundError as exc:  # its pid was stale (it restarted meanwhile): look again
                    last = exc
            elif service not in controller.runtime.services:
                raise NotFoundError(f"no service named '{service}'", fix="check the runbook's restart target")
            if time.monotonic() > deadline:
                raise StorageError(
                    f"replica {slot} was not up within {wait_s:g} s, so it was not restarted"
                    + (f" ({last.message})" if isinstance(last, NotFoundError) else ""),
                    fix="see `finpilot runtime status`",
                )
            time.sleep(0.05)

    return handle


def scale_action(controller: Controller) -> ActionHandler:
    """``scale SERVICE N``: apply a copy of the running spec with the new replica count (validated first)."""

    def handle(req: ActionRequest) -> Mapping[str, Any]:
        return controller.scale(str(req.params["service"]), int(req.params["replicas"]))

    return handle


def rollback_action(controller: Controller) -> ActionHandler:
    """``rollback SERVICE``: re-apply the spec before the last change, refused unless that change touched SERVICE."""

    def handle(req: ActionRequest) -> Mapping[str, Any]:
        result = controller.rollback(actor=req.actor, service=str(req.params["target"]))
        return {k: v for k, v in result.items() if k != "rolled_back"}

    return handle


def failover_action(cluster: PgCluster, ledger: Ledger, *, wait_s: float = 30.0) -> ActionHandler:
    """``failover primary|NODE``: fence the pair's primary and promote its synchronous standby.

    See :func:`~finpilot.heal._db._switch.requested_failover`: safe beside a ``db up`` healer
    (one failover lock), a no-op when the named node is no longer the primary.
    """

    def handle(req: ActionRequest) -> Mapping[str, Any]:
        return requested_failover(cluster, ledger, actor=req.actor, target=str(req.params["target"]), wait_s=wait_s)

    return handle


def run_action(
    *, env: Mapping[str, str] | None = None, cwd: Path | None = None, log_dir: Path | None = None
) -> ActionHandler:
    """``run ARGV``: run a program (no shell) with a timeout; a non-zero exit or a timeout fails the step.

    The interpreter's own bin directory comes first on ``PATH``, so ``finpilot`` in a runbook
    is this installation's CLI. Output goes to ``log_dir/runbook-<name>.log`` (never into the
    audit entry: a command's output may hold anything).
    """

    def handle(req: ActionRequest) -> Mapping[str, Any]:
        argv = [str(a) for a in req.params["argv"]]
        timeout = float(req.params.get("timeout_s", 60))
        environ = {**os.environ, **(env or {})}
        environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", "")])
        program = shutil.which(argv[0], path=environ["PATH"])
        if program is None:
            raise NotFoundError(f"program '{argv[0]}' is not on PATH", fix="give an absolute path in argv")
        log_path = safe_child(log_dir, f"runbook-{req.runbook}.log", field="runbook") if log_dir is not None else None
        started = time.monotonic()
        sink: Any = subprocess.DEVNULL
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            sink = log_path.open("ab")
        try:
            # argv comes from a validated runbook and runs without a shell.
            proc = subprocess.run(
                [program, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                env=environ,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CheckFailedError(
                f"'{argv[0]}' ran longer than {timeout:g} s and was killed", fix="raise run.timeout_s"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot run '{argv[0]}': {exc.strerror or type(exc).__name__}") from None
        finally:
            if log_path is not None:
                sink.close()
        evidence = {
            "argv": argv,
            "exit": proc.returncode,
            "duration_s": round(time.monotonic() - started, 3),
            "log": log_path.name if log_path is not None else None,
        }
        if proc.returncode != 0:
            raise CheckFailedError(
                f"'{argv[0]}' exited with status {proc.returncode}",
                fix=f"see {log_path}" if log_path is not None else "run it by hand to see why",
            )
        return evidence

    return handle
