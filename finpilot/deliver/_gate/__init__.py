"""The security gate: scanners over a tree, one SARIF file, baselines, waivers and a policy's verdict."""

from finpilot.deliver._gate._baseline import FINGERPRINT_KEY, load_baseline
from finpilot.deliver._gate._config import ALL_SCANNERS, GateConfig
from finpilot.deliver._gate._errors import INSTALL_FIX, ScannerError, ScannerMissingError
from finpilot.deliver._gate._finding import Finding, fingerprint
from finpilot.deliver._gate._report import GateResult, ScannerRun, junit_xml, markdown
from finpilot.deliver._gate._run import run_gate
from finpilot.deliver._gate._sarif import to_sarif
from finpilot.deliver._gate._waivers import Waiver, load_waivers

__all__ = [
    "ALL_SCANNERS",
    "FINGERPRINT_KEY",
    "INSTALL_FIX",
    "Finding",
    "GateConfig",
    "GateResult",
    "ScannerError",
    "ScannerMissingError",
    "ScannerRun",
    "Waiver",
    "fingerprint",
    "junit_xml",
    "load_baseline",
    "load_waivers",
    "markdown",
    "run_gate",
    "to_sarif",
]
