"""The ``finpilot`` command line: a thin shell over the library (Typer + Rich).

It parses arguments, calls :mod:`finpilot.core`, :mod:`finpilot.audit` and
:mod:`finpilot.console`, and maps their errors to messages and exit codes (0 ok, 1 a check
failed, 2 bad usage or input). Run ``finpilot --help`` for the commands.
"""

from finpilot.cli._app import app, main

__all__ = ["app", "main"]
