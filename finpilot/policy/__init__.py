"""Policy as code: one decision engine, evidence in, verdict with reasons and the policy's id out.

The security gates, the canary rollout's actions and the healer's policy decisions go through it.
"""

__all__: list[str] = []
