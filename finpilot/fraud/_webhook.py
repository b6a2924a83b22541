"""The webhook alert sink: each alert POSTed as signed JSON, from a thread of its own.

The receiver checks ``X-Finpilot-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
under the shared secret, and may use ``X-Finpilot-Alert-Id`` to drop a repeated delivery
(a retry after a lost response sends the same alert twice).

``send`` only appends to a bounded in-memory queue, so scoring never waits on the network;
when the queue is full the alert is dropped and counted (it is in the audit ledger either way).
A 5xx, a 429, a timeout or a connection error is retried with exponential backoff, up to
``max_attempts`` (core's :class:`~finpilot.core.Retry`); any other answer ends the delivery.
The body is signed by core's one webhook signer, and the client comes from core's factory
(:func:`~finpilot.core.http_client`), which also keeps URL paths out of httpx's log lines. Logs
name the webhook's host only: a webhook URL often carries a credential in its path.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from finpilot.core import (
    Backoff,
    ConfigError,
    FraudAlertSettings,
    InputError,
    Retry,
    http_client,
    resolve_secret,
    signed_json,
)
from finpilot.fraud._alerts import Alert

_log = logging.getLogger("finpilot.fraud.alerts")

_THREAD_NAME = "finpilot-alert-webhook"


class WebhookSink:
    """An :class:`AlertSink` POSTing each alert as signed JSON; non-blocking, bounded, with retries.

    ``transport`` is for tests that want an in-process transport; by default it is the network.
    """

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        queue_size: int = 1000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError("the webhook URL must be an http(s) URL", field="webhook_url")
        if not secret:
            raise InputError("the webhook secret is empty", field="secret")
        if max_attempts < 1 or queue_size < 1 or timeout_s <= 0 or backoff_s < 0:
            raise InputError("max_attempts and queue_size must be >= 1, timeout_s > 0, backoff_s >= 0")
        self.url = url
        # Only scheme and host reach a log line; the path and query may hold a credential.
        self.where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self._secret = secret
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._retry = Retry(attempts=max_attempts, backoff=Backoff(first_s=backoff_s, max_s=max_backoff_s))
        self._queue: deque[Alert] = deque()
        self._queue_size = queue_size
        self._transport = transport
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._abort = threading.Event()
        self._counts = {"queued": 0, "sent": 0, "failed": 0, "dropped": 0, "retries": 0}
        self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)
        self._thread.start()
        # A daemon thread dies with the process; give what is queued a short chance to go out first.
        atexit.register(self._close_at_exit)

    def __repr__(self) -> str:
        return f"WebhookSink({self.where!r})"

    @classmethod
    def from_settings(cls, settings: FraudAlertSettings, environ: Mapping[str, str] | None = None) -> WebhookSink:
        """A sink for ``fraud.alerts``; the secret is read from the reference ``fraud.alerts.secret`` holds."""
        if settings.webhook_url is None or settings.secret is None:
            raise ConfigError(
                "fraud alerts have no webhook configured",
                field="fraud.alerts.webhook_url",
                fix="set fraud.alerts.webhook_url and fraud.alerts.secret: {env: NAME}",
            )
        secret = resolve_secret(
            settings.secret,
            field="fraud.alerts.secret",
            environ=environ,
            hint="a long random secret shared with the receiver",
        )
        return cls(
            settings.webhook_url,
            secret,
            timeout_s=settings.timeout_s,
            max_attempts=settings.max_attempts,
        )

    # -- AlertSink --------------------------------------------------------------------------

    def send(self, alert: Alert) -> None:
        """Queue the alert; when the queue is full, drop it and count the drop."""
        with self._cond:
            if self._stopping or len(self._queue) >= self._queue_size:
                self._counts["dropped"] += 1
                dropped = True
            else:
                self._queue.append(alert)
                self._counts["queued"] += 1
                self._cond.notify_all()
                dropped = False
        if dropped:
            _log.warning("alert %s dropped: the webhook queue for %s is full", alert.alert_id, self.where)

    def stats(self) -> dict[str, int]:
        """``queued`` (ever), ``sent``, ``failed`` (gave up), ``dropped`` (queue full), ``retries``, ``pending``."""
        with self._cond:
            return {**self._counts, "pending": len(self._queue) + int(self._busy)}

    # -- lifecycle --------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued alert is delivered or given up; whether that happened in time."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking alerts, deliver what is queued for up to ``timeout`` seconds, then stop.

        Whatever is still queued after that is counted as dropped.
        """
        atexit.unregister(self._close_at_exit)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()  # cut the backoff short; the delivery in flight is the last
            self._thread.join(self.timeout_s + 1)
        with self._cond:
            self._counts["dropped"] += len(self._queue)
            self._queue.clear()

    def _close_at_exit(self) -> None:
        self.close(timeout=min(5.0, self.timeout_s))

    # -- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        with http_client(timeout_s=self.timeout_s, max_connections=1, transport=self._transport) as client:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                    if not self._queue or self._abort.is_set():
                        return
                    alert = self._queue.popleft()
                    self._busy = True
                try:
                    ok = self._deliver(client, alert)
                except Exception:  # never let one alert kill the worker
                    _log.exception("alert %s: unexpected error delivering to %s", alert.alert_id, self.where)
                    ok = False
                with self._cond:
                    self._counts["sent" if ok else "failed"] += 1
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, client: httpx.Client, alert: Alert) -> bool:
        body, headers = signed_json(self._secret, alert.to_json())
        headers |= {"User-Agent": "finpilot-alerts", "X-Finpilot-Alert-Id": alert.alert_id}

        tries = 0

        def post() -> httpx.Response | str:
            nonlocal tries
            tries += 1
            try:
                return client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                return type(exc).__name__

        def again(outcome: httpx.Response | str) -> bool:
            return isinstance(outcome, str) or outcome.status_code >= 500 or outcome.status_code == 429

        def retrying(attempt: int, delay: float, outcome: object) -> None:
            if self._abort.is_set():
                return  # the wait below ends at once: this is no retry
            _log.info(
                "alert %s: %s from %s; retry %d in %.1fs", alert.alert_id, _problem(outcome), self.where, attempt, delay
            )
            with self._cond:
                self._counts["retries"] += 1

        # A close() that runs out of time sets _abort: the wait ends at once and the delivery gives up.
        outcome = self._retry.call(post, retry_if=again, on_retry=retrying, sleep=self._abort.wait)
        if isinstance(outcome, httpx.Response) and 200 <= outcome.status_code < 300:
            return True
        if not again(outcome):
            _log.warning("alert %s refused by %s: %s", alert.alert_id, self.where, _problem(outcome))
            return False
        _log.warning(
            "alert %s not delivered to %s after %d attempts (%s)", alert.alert_id, self.where, tries, _problem(outcome)
        )
        return False


def _problem(outcome: object) -> str:
    return f"HTTP {outcome.status_code}" if isinstance(outcome, httpx.Response) else str(outcome)
