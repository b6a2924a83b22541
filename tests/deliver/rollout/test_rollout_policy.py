"""The verdict -> action mapping: one pure function, checked on every combination it can see."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from finpilot.deliver import Judgement
from finpilot.deliver._rollout import ActionPolicy, StepContext, decide


def _judgement(verdict: str, enough: bool = True) -> Judgement:
    return Judgement.model_validate(
        {
            "verdict": verdict,
            "enough_data": enough,
            "score": 0.0,
            "reason": "r",
            "baseline_requests": 1,
            "canary_requests": 1,
            "metrics": [],
        }
    )


contexts = st.builds(StepContext, time_up=st.booleans(), extensions=st.integers(0, 5), last_step=st.booleans())
policies = st.builds(
    ActionPolicy,
    on_fail=st.sampled_from(["rollback", "pause"]),
    on_no_data=st.sampled_from(["rollback", "pause", "extend", "continue"]),
    on_inconclusive=st.sampled_from(["rollback", "pause", "extend", "continue"]),
    max_extensions=st.integers(0, 3),
)


@given(contexts, policies)
def test_a_failed_canary_always_gets_the_fail_action_whatever_the_timing(
    ctx: StepContext, policy: ActionPolicy
) -> None:
    assert decide(_judgement("fail"), ctx, policy).action == policy.on_fail


@given(contexts, policies, st.sampled_from(["pass", "inconclusive"]), st.booleans())
def test_nothing_but_a_failure_moves_a_step_before_its_time(
    ctx: StepContext, policy: ActionPolicy, verdict: str, enough: bool
) -> None:
    early = StepContext(time_up=False, extensions=ctx.extensions, last_step=ctx.last_step)
    assert decide(_judgement(verdict, enough), early, policy).action == "wait"


@given(contexts, policies)
def test_extensions_never_pass_the_limit(ctx: StepContext, policy: ActionPolicy) -> None:
    done = StepContext(time_up=True, extensions=ctx.extensions, last_step=ctx.last_step)
    action = decide(_judgement("inconclusive"), done, policy).action
    if action == "extend":
        assert ctx.extensions < policy.max_extensions


def test_the_defaults() -> None:
    policy = ActionPolicy()
    up = StepContext(time_up=True, extensions=0, last_step=False)
    assert decide(_judgement("pass"), up, policy).action == "advance"
    assert decide(_judgement("pass"), StepContext(True, 0, True), policy).action == "promote"
    assert decide(_judgement("inconclusive", enough=False), up, policy).action == "pause"
    assert decide(_judgement("inconclusive"), up, policy).action == "extend"
    assert decide(_judgement("inconclusive"), StepContext(True, 2, False), policy).action == "pause"
    assert decide(_judgement("fail"), StepContext(False, 0, False), policy).action == "rollback"


@given(st.integers(1, 5), st.integers(0, 6), st.booleans())
def test_failure_limit_counts_failed_analyses_in_a_row(limit: int, before: int, time_up: bool) -> None:
    policy = ActionPolicy(failure_limit=limit)
    action = decide(_judgement("fail"), StepContext(time_up, 0, False, failures_before=before), policy).action
    assert action == ("rollback" if before + 1 >= limit else "wait")
