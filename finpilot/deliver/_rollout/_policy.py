"""Verdict -> action: the one pure function that turns a judgement into what the rollout does next.

It is policy, so the policy engine decides it (``finpilot/policy/policies/rollout.rego``, the same
engine as the security gate's): it sees the verdict, whether the step's time is up and how often it
was extended, and the configured :class:`ActionPolicy`.

=====================  ==========================  =========================================
judgement              step time not up             step time up
=====================  ==========================  =========================================
fail (x failure_limit)  ``on_fail`` (rollback)       ``on_fail`` (rollback)
not enough data        wait                         ``on_no_data`` (pause)
inconclusive           wait                         extend up to ``max_extensions``, then pause
pass                   wait                         advance (the last step: promote)
=====================  ==========================  =========================================
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal, cast, get_args

from finpilot.core import InputError
from finpilot.deliver._judge import Judgement
from finpilot.deliver._rollout._config import ActionPolicy
from finpilot.policy import PolicyEngine

Next = Literal["wait", "advance", "promote", "extend", "pause", "rollback"]
_ACTIONS = frozenset(get_args(Next))


@dataclass(frozen=True)
class StepContext:
    """Where the rollout stands: whether the step's time is up, extensions used, whether it is the last step,
    and how many analyses in a row failed before this one."""

    time_up: bool
    extensions: int
    last_step: bool
    failures_before: int = 0


@dataclass(frozen=True)
class Decision:
    """The action, a sentence saying why, and the policy (id and source digest) that decided."""

    action: Next
    reason: str
    policy_id: str = "finpilot.rollout"
    policy_digest: str = ""


@functools.cache
def _engine() -> PolicyEngine:
    # Compiled once per process: an evaluation is about a millisecond, a compile several.
    return PolicyEngine.load("rollout")


def decide(judgement: Judgement, ctx: StepContext, policy: ActionPolicy) -> Decision:
    """The action for ``judgement`` at ``ctx`` under ``policy``: the ``rollout`` Rego policy decides (see the
    module docstring and ``finpilot/policy/policies/rollout.rego``)."""
    decision = _engine().evaluate(
        {
            "verdict": judgement.verdict,
            "enough_data": judgement.enough_data,
            "reason": judgement.reason,
            "time_up": ctx.time_up,
            "extensions": ctx.extensions,
            "last_step": ctx.last_step,
            "failures_before": ctx.failures_before,
            "policy": {
                "failure_limit": policy.failure_limit,
                "on_fail": policy.on_fail,
                "on_no_data": policy.on_no_data,
                "on_inconclusive": policy.on_inconclusive,
                "max_extensions": policy.max_extensions,
            },
        }
    )
    if decision.verdict not in _ACTIONS:
        raise InputError(
            f"the rollout policy answered {decision.verdict!r}",
            field="policy",
            fix=f"answer one of {', '.join(sorted(_ACTIONS))}",
        )
    return Decision(
        cast(Next, decision.verdict), "; ".join(decision.reasons), decision.policy_id, decision.policy_digest
    )
