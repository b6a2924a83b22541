"""The canary judge: canary against baseline over the same window, per metric, then one verdict."""

from finpilot.deliver._judge._judge import Step, judge, next_step
from finpilot.deliver._judge._model import JudgeConfig, Judgement, MetricResult, Samples

__all__ = ["JudgeConfig", "Judgement", "MetricResult", "Samples", "Step", "judge", "next_step"]
