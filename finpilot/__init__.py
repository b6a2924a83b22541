"""finpilot: delivery and operations on autopilot, with every automated action proven in an audit ledger."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("finpilot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
