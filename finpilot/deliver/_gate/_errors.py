"""Errors of the security gate.

::

    FinpilotError
     +-- InputError
     |    +-- ScannerMissingError   a scanner program is not installed (exit 2, names the install command)
     +-- ScannerError               a scanner crashed, timed out or wrote output that does not parse (exit 1)
"""

from __future__ import annotations

from finpilot.core import FinpilotError, InputError

INSTALL_FIX = "pip install 'finpilot[gates]'"
"""The command that installs every scanner the gate runs."""


class ScannerMissingError(InputError):
    """A scanner the gate needs is not on PATH; the gate never passes without it."""


class ScannerError(FinpilotError):
    """A scanner ran but did not give a usable answer; the gate never passes on it."""
