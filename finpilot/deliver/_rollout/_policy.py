"""Verdict -> action: the one pure function that turns a judgement into what the rollout does next.

It is policy, kept apart so that the policy engine can take it over: it sees the verdict, whether
the step's time is up and how often it was extended, and the configured :class:`ActionPolicy`.

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

from dataclasses import dataclass
from typing import Literal

from finpilot.deliver._judge import Judgement
from finpilot.deliver._rollout._config import ActionPolicy

Next = Literal["wait", "advance", "promote", "extend", "pause", "rollback"]


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
    """The action and a sentence saying why."""

    action: Next
    reason: str


def decide(judgement: Judgement, ctx: StepContext, policy: ActionPolicy) -> Decision:
    """The action for ``judgement`` at ``ctx`` under ``policy`` (see the module docstring); pure."""
    if judgement.verdict == "fail":
        failures = ctx.failures_before + 1
        if failures >= policy.failure_limit:
            return Decision(policy.on_fail, f"the canary failed: {judgement.reason}")
        return Decision("wait", f"failed analysis {failures} of {policy.failure_limit} in a row: {judgement.reason}")
    if not ctx.time_up:
        return Decision("wait", "the step's time is not up")
    if not judgement.enough_data:
        return _fallback(policy.on_no_data, ctx, policy, f"not enough data: {judgement.reason}")
    if judgement.verdict == "inconclusive":
        return _fallback(policy.on_inconclusive, ctx, policy, f"inconclusive: {judgement.reason}")
    if ctx.last_step:
        return Decision("promote", f"the last step passed: {judgement.reason}")
    return Decision("advance", f"the step passed: {judgement.reason}")


def _fallback(action: str, ctx: StepContext, policy: ActionPolicy, why: str) -> Decision:
    if action == "extend":
        if ctx.extensions < policy.max_extensions:
            return Decision("extend", f"{why}; window extended ({ctx.extensions + 1}/{policy.max_extensions})")
        return Decision("pause", f"{why}; no extension left ({policy.max_extensions} used)")
    if action == "continue":
        return Decision("wait", why)
    if action == "rollback":
        return Decision("rollback", why)
    return Decision("pause", why)
