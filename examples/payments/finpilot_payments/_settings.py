"""Settings of the payments service, read once at the edge (command line or environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from finpilot_payments._errors import InputError
from finpilot_payments._version import __version__


@dataclass(frozen=True)
class PaymentsSettings:
    """Everything the service needs to start.

    ``data_dir``: where the SQLite database ``payments.db`` lives (ignored with ``dsn``).
    ``dsn``: a PostgreSQL DSN; leave out for SQLite. ``schema_name``: the PostgreSQL schema.
    ``version``: reported in ``/healthz`` and the ``X-Payments-Version`` header (canary releases).
    ``decider_url``: base URL of a decision service (``POST {url}/api/v1/fraud/scores``); leave out for the
    in-process decider. ``decider_timeout_s``: how long to wait for it. ``decider_fail_open``:
    when the decision service is unavailable (unreachable, times out, 5xx), approve (``True``,
    fail-open) or decline (``False``, fail-closed, the default: a payment is never approved
    unseen). A refusal (4xx) declines either way.
    ``decider_token``: bearer token for the decision service (a finpilot token whose role may
    score); from ``PAYMENTS_DECIDER_TOKEN`` only, never a command-line flag (other users can
    read a process's arguments), and never shown in ``repr`` or logs.
    """

    data_dir: Path = Path(".payments")
    dsn: str | None = None
    schema_name: str = "payments"
    version: str = __version__
    decider_url: str | None = None
    decider_timeout_s: float = 0.5
    decider_fail_open: bool = False
    decider_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> PaymentsSettings:
        """Settings from ``PAYMENTS_*`` environment variables, then ``overrides`` (e.g. command-line flags)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if "PAYMENTS_DATA_DIR" in env:
            values["data_dir"] = Path(env["PAYMENTS_DATA_DIR"])
        if env.get("PAYMENTS_DSN"):
            values["dsn"] = env["PAYMENTS_DSN"]
        if env.get("PAYMENTS_SCHEMA"):
            values["schema_name"] = env["PAYMENTS_SCHEMA"]
        if env.get("PAYMENTS_VERSION"):
            values["version"] = env["PAYMENTS_VERSION"]
        if env.get("PAYMENTS_DECIDER_URL"):
            values["decider_url"] = env["PAYMENTS_DECIDER_URL"]
        if env.get("PAYMENTS_DECIDER_TIMEOUT_S"):
            try:
                values["decider_timeout_s"] = float(env["PAYMENTS_DECIDER_TIMEOUT_S"])
            except ValueError:
                raise InputError(
                    "PAYMENTS_DECIDER_TIMEOUT_S must be a number of seconds", field="PAYMENTS_DECIDER_TIMEOUT_S"
                ) from None
        if env.get("PAYMENTS_DECIDER_TOKEN"):
            values["decider_token"] = env["PAYMENTS_DECIDER_TOKEN"]
        if env.get("PAYMENTS_DECIDER_FAIL_OPEN"):
            values["decider_fail_open"] = env["PAYMENTS_DECIDER_FAIL_OPEN"].lower() in {"1", "true", "yes", "on"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
