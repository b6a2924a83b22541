"""A validation problem that knows which nested field it is about and how to fix it.

Model validators that check several fields at once can only fail the whole model; raising a
:class:`FieldProblem` lets them name the exact field below it (``services.payments.classification``)
and a fix, which :func:`finpilot.core.parse_settings` turns into a precise :class:`ConfigError`.
"""

from __future__ import annotations


class FieldProblem(ValueError):
    """A ``ValueError`` raised inside a pydantic validator, naming the sub-field (``path``) and the ``fix``."""

    def __init__(self, message: str, *, path: tuple[str | int, ...] = (), fix: str | None = None) -> None:
        where = ".".join(str(part) for part in path)
        super().__init__(f"{where}: {message}" if where else message)
        self.problem = message
        self.path = path
        self.fix = fix
