"""Watch running live: detectors on the newest metric points and the alert loop, for ``finpilot up``."""
