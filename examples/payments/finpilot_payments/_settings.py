"""Settings of the payments service, read once at the edge (command line or environment)."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from finpilot_payments._auth import MIN_BOOTSTRAP_LENGTH
from finpilot_payments._errors import InputError
from finpilot_payments._faults import FaultKnobs
from finpilot_payments._version import __version__


@dataclass(frozen=True)
class PaymentsSettings:
    """Everything the service needs to start.

    ``data_dir``: where the SQLite database ``payments.db`` lives (ignored with ``dsn``).
    ``dsn``: a PostgreSQL DSN; leave out for SQLite. ``schema_name``: the PostgreSQL schema.
    ``version``: reported in ``/healthz`` and the ``X-Payments-Version`` header (canary releases).
    ``max_body_bytes``: a larger request body is refused (413) unread. ``trusted_proxies``: the
    addresses or networks whose ``X-Forwarded-For`` is believed (none by default: the client is
    the TCP peer). From ``PAYMENTS_MAX_BODY_BYTES`` and ``PAYMENTS_TRUSTED_PROXIES`` (comma-separated).
    ``decider_url``: base URL of a decision service (``POST {url}/api/v1/fraud/scores``); leave out for the
    in-process decider. ``decider_timeout_s``: how long to wait for it. ``decider_fail_open``:
    when the decision service is unavailable (unreachable, times out, 5xx), approve (``True``,
    fail-open) or decline (``False``, fail-closed, the default: a payment is never approved
    unseen). A refusal (4xx) declines either way.
    ``faults``: test and demo knobs for progressive delivery, off by default
    (:mod:`finpilot_payments._faults`): ``PAYMENTS_FAULT_ERROR_RATE``, ``PAYMENTS_FAULT_SLOW_RATE``,
    ``PAYMENTS_FAULT_SLOW_MS``.
    ``decider_token``: bearer token for the decision service (a finpilot token whose role may
    score); from ``PAYMENTS_DECIDER_TOKEN`` only, never a command-line flag (other users can
    read a process's arguments), and never shown in ``repr`` or logs.
    ``bootstrap_token``: an API token with the ``admin`` scope, for a launcher that mints its own
    at start (finpilot's demo, drill and tests); from ``PAYMENTS_BOOTSTRAP_TOKEN`` or the file
    named by ``PAYMENTS_BOOTSTRAP_TOKEN_FILE`` (chmod 600) only, at least 32 characters; kept in
    memory as its SHA-256. Other tokens live hashed in the database (``tokens create``).
    """

    data_dir: Path = Path(".payments")
    dsn: str | None = None
    schema_name: str = "payments"
    max_body_bytes: int = 1024 * 1024
    trusted_proxies: tuple[str, ...] = ()
    version: str = __version__
    decider_url: str | None = None
    decider_timeout_s: float = 0.5
    decider_fail_open: bool = False
    decider_token: str | None = field(default=None, repr=False)
    bootstrap_token: str | None = field(default=None, repr=False)
    faults: FaultKnobs = field(default_factory=FaultKnobs)

    def __post_init__(self) -> None:
        if self.bootstrap_token is not None and (
            len(self.bootstrap_token) < MIN_BOOTSTRAP_LENGTH or not self.bootstrap_token.isascii()
        ):
            raise InputError(
                f"the bootstrap token must be at least {MIN_BOOTSTRAP_LENGTH} ASCII characters",
                field="PAYMENTS_BOOTSTRAP_TOKEN",
                fix="use e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            )

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
        values.update(_edge_settings(env))
        values.update(_fault_settings(env))
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
        if env.get("PAYMENTS_BOOTSTRAP_TOKEN"):
            values["bootstrap_token"] = env["PAYMENTS_BOOTSTRAP_TOKEN"]
        elif env.get("PAYMENTS_BOOTSTRAP_TOKEN_FILE"):
            values["bootstrap_token"] = _read_secret_file(Path(env["PAYMENTS_BOOTSTRAP_TOKEN_FILE"]))
        if env.get("PAYMENTS_DECIDER_FAIL_OPEN"):
            values["decider_fail_open"] = env["PAYMENTS_DECIDER_FAIL_OPEN"].lower() in {"1", "true", "yes", "on"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _read_secret_file(path: Path) -> str:
    """A secret file's text without its trailing newline; refused unless only its owner may read it."""
    name = "PAYMENTS_BOOTSTRAP_TOKEN_FILE"
    try:
        if path.stat().st_mode & 0o077:
            raise InputError(f"{path} ({name}) is readable by group or others", field=name, fix=f"chmod 600 {path}")
        return path.read_text(encoding="ascii").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise InputError(f"cannot read {path} ({name})", field=name, fix="write the token there, chmod 600") from None


def _edge_settings(env: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if env.get("PAYMENTS_MAX_BODY_BYTES"):
        text = env["PAYMENTS_MAX_BODY_BYTES"]
        if not text.isdigit() or int(text) < 1024:
            raise InputError(
                "PAYMENTS_MAX_BODY_BYTES must be a whole number of bytes, 1024 or more", field="PAYMENTS_MAX_BODY_BYTES"
            )
        values["max_body_bytes"] = int(text)
    if env.get("PAYMENTS_TRUSTED_PROXIES"):
        proxies = tuple(p.strip() for p in env["PAYMENTS_TRUSTED_PROXIES"].split(",") if p.strip())
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise InputError(
                    "PAYMENTS_TRUSTED_PROXIES holds something that is not an IP address or network",
                    field="PAYMENTS_TRUSTED_PROXIES",
                    fix="list addresses or networks, comma-separated: 10.0.0.5,10.1.0.0/16",
                ) from None
        values["trusted_proxies"] = proxies
    return values


def _fault_settings(env: Mapping[str, str]) -> dict[str, object]:
    def number(name: str, high: float | None) -> float:
        text = env.get(name, "")
        try:
            value = float(text) if text else 0.0
        except ValueError:
            value = -1.0
        if math.isnan(value) or not 0 <= value <= (high if high is not None else math.inf):
            limit = f"between 0 and {high:g}" if high is not None else "0 or more"
            raise InputError(f"{name} must be a number {limit}", field=name, fix=f"unset it, or set e.g. {name}=0.05")
        return value

    names = ("PAYMENTS_FAULT_ERROR_RATE", "PAYMENTS_FAULT_SLOW_RATE", "PAYMENTS_FAULT_SLOW_MS")
    if not any(env.get(n) for n in names):
        return {}
    knobs = FaultKnobs(
        error_rate=number(names[0], 1.0), slow_rate=number(names[1], 1.0), slow_ms=number(names[2], 600_000.0)
    )
    return {"faults": knobs}
