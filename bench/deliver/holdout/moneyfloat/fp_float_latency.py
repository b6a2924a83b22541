# expect: CWE-1339 safe
from dataclasses import dataclass


@dataclass
class Probe:
    latency_s: float
    success_ratio: float = 1.0
