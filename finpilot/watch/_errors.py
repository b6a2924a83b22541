"""The errors of ``finpilot.watch``, all rooted at :class:`finpilot.core.FinpilotError`.

::

    WatchError
    ├── ScrapeError          a target that is down or answers badly (names the target)
    ├── MetricsUnavailableError  a metrics backend (a real Prometheus) that cannot be reached
    ├── SinkDeliveryError    an alert sink did not take a notification (kept and retried)
    └── WatchInputError      rejected input, nothing changed (an InputError: the CLI exits 2)
        ├── ExpositionError      malformed Prometheus text (names the line and what is wrong)
        ├── QueryError           a selector or query that cannot be answered (names the field)
        ├── ScrapeTargetError    a scrape target that is not a usable URL, job or label set
        ├── UnknownDetectorError a detector name that is not registered (lists the known ones)
        ├── NabDataError         a NAB directory that is not laid out as the benchmark's
        ├── TraceError           a load trace that cannot be replayed (names the row)
        ├── ScheduleError        a load schedule (base rate, surge) that cannot be sent
        └── AlertConfigError     an alert rule, route, silence or sink that does not validate
"""

from __future__ import annotations

from finpilot.core import FinpilotError, InputError, UnavailableError


class WatchError(FinpilotError):
    """Root of the watch capability's errors."""


class WatchInputError(WatchError, InputError):
    """Input that watch rejects; nothing was changed (the CLI exits 2)."""


class ExpositionError(WatchInputError):
    """Prometheus exposition text that does not parse."""


class ScrapeError(WatchError):
    """A scrape target that is down, slow or answers with something other than metrics."""


class MetricsUnavailableError(WatchError, UnavailableError):
    """A metrics backend that cannot be reached or fails to answer (names its URL and what to check)."""


class SinkDeliveryError(WatchError):
    """An alert sink refused or did not answer a notification; the notification is kept and retried.

    ``retryable`` is false for an answer that another try will not change (a 4xx other than 408
    and 429): the immediate retries stop, but the notification still stays in the outbox.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool = True, fix: str | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.status_code = status_code
        self.retryable = retryable
        self.attempts = 1
        """How many attempts were made before it was given up (set by the retrying caller)."""


class QueryError(WatchInputError):
    """A metrics query that cannot be answered as asked."""


class ScrapeTargetError(WatchInputError):
    """A scrape target that cannot be scraped as written (not an http(s) URL, bad job or labels)."""


class UnknownDetectorError(WatchInputError):
    """A detector name that is not registered."""


class NabDataError(WatchInputError):
    """A NAB data directory that is missing files, labels or profiles, or holds malformed rows."""


class TraceError(WatchInputError):
    """A load trace that cannot be replayed."""


class AlertConfigError(WatchInputError):
    """An alert rule, route, silence, inhibition or sink that does not validate."""


class ScheduleError(WatchInputError):
    """A load schedule (base rate, period, surge) that cannot be sent as written."""
