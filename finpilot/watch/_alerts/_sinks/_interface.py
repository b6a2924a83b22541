"""The one sink interface, and the notification every sink is given.

A :class:`Notification` is one group's news for one sink: its firing alerts and those resolved
since the last notification. A sink turns it into its own wire format and sends it once; it
raises :class:`~finpilot.watch.SinkDeliveryError` when that fails. Retries belong to the caller:
a few immediate ones (:func:`send_with_retry`), then the manager's outbox keeps it for later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import httpx

from finpilot.core import Backoff, Retry
from finpilot.watch._alerts._model import Alert
from finpilot.watch._alerts._store import alert_from_row, alert_to_dict
from finpilot.watch._errors import SinkDeliveryError


@dataclass(frozen=True)
class Notification:
    """One group's alerts, as sent to one sink."""

    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: Sequence[Alert]
    external_url: str
    sent_at: float
    test: bool = False
    hold_s: float | None = None
    """How long the group may stay silent before it notifies again (repeat plus group interval):
    a receiver that expires alerts (Alertmanager's ``endsAt``) should keep a firing one that long."""

    @property
    def status(self) -> Literal["firing", "resolved"]:
        """``firing`` while any of its alerts fires, else ``resolved``."""
        return "firing" if any(a.state == "firing" for a in self.alerts) else "resolved"

    def common_labels(self) -> dict[str, str]:
        """The labels every alert has with the same value."""
        return _common([a.labels for a in self.alerts])

    def common_annotations(self) -> dict[str, str]:
        """The annotations every alert has with the same value."""
        return _common([a.annotations for a in self.alerts])

    def to_json(self) -> dict[str, Any]:
        """As kept in the outbox."""
        return {
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": dict(self.group_labels),
            "alerts": [alert_to_dict(a) for a in self.alerts],
            "external_url": self.external_url,
            "sent_at": self.sent_at,
            "test": self.test,
            "hold_s": self.hold_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        """The notification :meth:`to_json` kept."""
        return cls(
            receiver=data["receiver"],
            group_key=data["group_key"],
            group_labels=dict(data["group_labels"]),
            alerts=tuple(alert_from_row(a) for a in data["alerts"]),
            external_url=data["external_url"],
            sent_at=float(data["sent_at"]),
            test=bool(data.get("test", False)),
            hold_s=data.get("hold_s"),
        )


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


class Sink(Protocol):
    """Something that takes notifications: a webhook, an Alertmanager, a Slack channel."""

    type: ClassVar[str]
    """webhook, alertmanager or slack."""

    name: str
    """The sink's configured name."""

    attempts: int
    """Immediate attempts per delivery."""

    def send(self, notification: Notification) -> int:
        """Deliver once; return the HTTP status, or raise :class:`SinkDeliveryError`."""
        ...


def post(client: httpx.Client, url: str, *, what: str, **kwargs: Any) -> int:
    """POST and map failure to :class:`SinkDeliveryError`, never naming the URL (it may hold a token)."""
    try:
        response = client.post(url, **kwargs)
    except httpx.TimeoutException:
        raise SinkDeliveryError(f"{what} did not answer in time", fix="check that it is up and reachable") from None
    except httpx.HTTPError as exc:
        raise SinkDeliveryError(
            f"{what} could not be reached ({type(exc).__name__})", fix="check that it is up and reachable"
        ) from None
    if response.status_code >= 300:
        code = response.status_code
        raise SinkDeliveryError(
            f"{what} answered HTTP {code}",
            status_code=code,
            retryable=code >= 500 or code in (408, 429),
            fix="see the receiver's logs; the notification is kept and retried",
        )
    return response.status_code


def send_with_retry(
    sink: Sink,
    notification: Notification,
    *,
    backoff: Backoff,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
) -> tuple[int, int]:
    """Send with a few immediate retries; returns (HTTP status, attempts) or raises the last error.

    The error's ``attempts`` says how many were made, for the caller's record.
    """
    tries = 0

    def once() -> int:
        nonlocal tries
        tries += 1
        return sink.send(notification)

    try:
        status = Retry(attempts=sink.attempts, backoff=backoff).call(
            once,
            retry_on=lambda exc: isinstance(exc, SinkDeliveryError) and exc.retryable,
            sleep=sleep,
            clock=clock,
        )
    except SinkDeliveryError as exc:
        exc.attempts = tries
        raise
    return status, tries
