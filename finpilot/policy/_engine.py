"""The policy engine: Rego modules evaluated in-process by rego-cpp (``regopy``).

Rego won the measurement in ``bench/policy/bench_engines.py`` against CEL on how directly it
states a mapping (tables, helper rules with ``else`` chains and sets live in the one policy
file a reviewer reads; CEL needed the tables passed in from outside and the per-finding action
spelled out at each use). CEL was about 20 times faster per decision, but a gate decision over
200 findings still takes a fraction of a second and a rollout step about a millisecond, both
far inside their budgets. See ``docs/deliver-gates.md``.

A policy is a Rego module ``package finpilot.<name>`` whose rule ``decision`` is an object with
at least ``verdict`` (a string) and ``reasons`` (a list of strings).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from regopy import Interpreter, RegoError

from finpilot.core import InputError
from finpilot.policy._decision import PolicyDecision

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def builtin_policies() -> list[str]:
    """The names of the policies shipped with finpilot (``gate``, ``rollout``, ...)."""
    folder = resources.files("finpilot.policy") / "policies"
    return sorted(p.name.removesuffix(".rego") for p in folder.iterdir() if p.name.endswith(".rego"))


class PolicyEngine:
    """One loaded policy; :meth:`evaluate` turns an input mapping into a :class:`PolicyDecision`.

    Thread-safe: the interpreter holds one input at a time, so evaluations take turns.
    """

    def __init__(self, name: str, source: str, *, origin: str) -> None:
        """Compile ``source`` (a Rego module ``package finpilot.<name>``); raise ``InputError`` if it is not one."""
        if not _NAME.match(name):
            raise InputError(f"policy name {name!r} is not a lowercase word", field="policy", fix="use e.g. 'gate'")
        self.name = name
        self.policy_id = f"finpilot.{name}"
        self.digest = _digest(source.encode())
        self.origin = origin
        self._query = f"x = data.finpilot.{name}.decision"
        self._lock = threading.Lock()
        self._rego = Interpreter()
        try:
            self._rego.add_module(name, source)
        except RegoError as err:
            raise InputError(
                f"policy {origin} does not compile: {err}", field="policy", fix="fix the Rego module"
            ) from None

    @classmethod
    def load(cls, name: str) -> PolicyEngine:
        """The built-in policy ``name`` (see :func:`builtin_policies`); ``InputError`` when there is none."""
        if not _NAME.match(name) or name not in builtin_policies():
            raise InputError(
                f"no built-in policy {name!r}", field="policy", fix=f"use one of: {', '.join(builtin_policies())}"
            )
        source = (resources.files("finpilot.policy") / "policies" / f"{name}.rego").read_text(encoding="utf-8")
        return cls(name, source, origin=f"builtin:{name}.rego")

    @classmethod
    def from_file(cls, path: Path, name: str) -> PolicyEngine:
        """A policy of one's own: the Rego module at ``path`` declaring ``package finpilot.<name>``."""
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(
                f"cannot read policy {path}: {err.strerror}", field="policy", fix="name a readable .rego file"
            ) from None
        return cls(name, source, origin=str(path))

    def evaluate(self, data: Mapping[str, Any]) -> PolicyDecision:
        """Decide over ``data`` (JSON-shaped); ``InputError`` when the policy gives no usable decision."""
        try:
            with self._lock:
                self._rego.set_input_term(json.dumps(data))
                output = self._rego.query(self._query)
                text = str(output)
        except RegoError as err:
            raise InputError(
                f"policy {self.policy_id} failed: {err}", field="policy", fix="check the policy and its input"
            ) from None
        result = json.loads(text) if text != "undefined" else {}
        decision = result.get("bindings", {}).get("x") if isinstance(result, dict) else None
        if (
            not isinstance(decision, dict)
            or not isinstance(decision.get("verdict"), str)
            or not isinstance(decision.get("reasons"), list)
        ):
            raise InputError(
                f"policy {self.policy_id} gave no decision for this input",
                field="policy",
                fix=f"data.finpilot.{self.name}.decision must be an object with verdict and reasons",
            )
        details = {k: v for k, v in decision.items() if k not in ("verdict", "reasons")}
        return PolicyDecision(
            verdict=decision["verdict"],
            reasons=tuple(str(r) for r in decision["reasons"]),
            policy_id=self.policy_id,
            policy_digest=self.digest,
            details=details,
        )
