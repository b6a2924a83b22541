"""The canary judge: canary against baseline over the same window, per metric, then one verdict."""

from finpilot.deliver._judge._analysis import analysis_entry, config_digest
from finpilot.deliver._judge._judge import Step, judge, next_step
from finpilot.deliver._judge._metrics_source import MetricsSampleSource
from finpilot.deliver._judge._model import JudgeConfig, Judgement, MetricResult, Samples
from finpilot.deliver._judge._source import CsvDirectorySource, SampleSet, SampleSource

__all__ = [
    "CsvDirectorySource",
    "JudgeConfig",
    "Judgement",
    "MetricResult",
    "MetricsSampleSource",
    "SampleSet",
    "SampleSource",
    "Samples",
    "Step",
    "analysis_entry",
    "config_digest",
    "judge",
    "next_step",
]
