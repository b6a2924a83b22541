"""Progressive delivery on the local runtime: canary and blue-green rollouts judged against a baseline."""

from finpilot.deliver._rollout._config import ActionPolicy, RolloutConfig, Step
from finpilot.deliver._rollout._engine import RolloutEngine
from finpilot.deliver._rollout._k8s import render_canary
from finpilot.deliver._rollout._platform import ArtifactVerifier, ControllerPlatform, Platform
from finpilot.deliver._rollout._policy import Decision, StepContext, decide
from finpilot.deliver._rollout._record import RolloutRecord
from finpilot.deliver._rollout._start import adopt_rollout, new_rollout
from finpilot.deliver._rollout._store import RolloutStore, store_path

__all__ = [
    "ActionPolicy",
    "ArtifactVerifier",
    "ControllerPlatform",
    "Decision",
    "Platform",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutRecord",
    "RolloutStore",
    "Step",
    "StepContext",
    "adopt_rollout",
    "decide",
    "new_rollout",
    "render_canary",
    "store_path",
]
