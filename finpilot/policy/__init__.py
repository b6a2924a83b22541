"""Policy as code: one decision engine, evidence in, verdict with reasons and the policy's id out.

The security gates, the canary rollout's actions and the healer's policy decisions go through it::

    from finpilot.policy import PolicyEngine
    decision = PolicyEngine.load("rollout").evaluate(
        {"judgement": "pass", "step": 3, "steps": 4, "inconclusive_in_a_row": 0, "max_inconclusive": 2}
    )
    assert decision.verdict == "promote"

Policies are Rego modules shipped as package data (``finpilot/policy/policies/*.rego``) or read
from a file of one's own (:meth:`PolicyEngine.from_file`); every decision names the policy's id
and the SHA-256 of its source, so an audit entry says exactly which rules decided.
"""

from finpilot.policy._decision import PolicyDecision
from finpilot.policy._engine import PolicyEngine, builtin_policies

__all__ = ["PolicyDecision", "PolicyEngine", "builtin_policies"]
