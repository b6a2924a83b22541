"""The scraper: fetch every target's Prometheus text at an interval and write it to the store.

Each round scrapes all targets at once (a thread each, up to 16), each with its own timeout, so
one slow or dead target delays nobody. A target's samples go to the store in one transaction,
with the target's ``job``/``instance`` labels and Prometheus' synthetic series for the target:
``up`` (1 when the scrape parsed, else 0), ``scrape_duration_seconds`` and
``scrape_samples_scraped``. A target that is down, answers with an HTTP error or sends malformed
text gets ``up 0`` and keeps the reason in its :class:`~finpilot.watch.TargetHealth` (last error,
last success); nothing is raised to the caller, and nothing of a malformed scrape is stored.

Targets are a static list plus an optional :data:`~finpilot.watch.TargetSource` asked before every
round; if the source fails, the static targets are still scraped and the failure is kept in
:attr:`Scraper.source_error`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from finpilot.core import FinpilotError, http_client
from finpilot.watch._errors import ScrapeError
from finpilot.watch._metrics._exposition import MAX_CACHED_SERIES, ExpositionSample, Labels, parse_exposition
from finpilot.watch._metrics._store import MetricsStore, TargetHealth, WriteResult
from finpilot.watch._metrics._target import ScrapeTarget, TargetSource

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest exposition accepted from one target (a runaway target must not fill the memory)."""

COMPACT_EVERY_S = 300.0
"""How often the background thread rolls up and expires old samples."""

_ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


@dataclass(frozen=True)
class ScrapeReport:
    """One target's scrape: whether it was up, how long it took, what was stored, and why not."""

    target: ScrapeTarget
    up: bool
    scrape_time: float
    duration_s: float
    samples: int
    write: WriteResult | None
    error: str | None


def _with_target_labels(labels: Labels, extra: dict[str, str]) -> Labels:
    merged = dict(labels)
    for name, value in extra.items():
        if name in merged:
            # honor_labels=false, as Prometheus does: the target's own label is kept, renamed.
            merged[f"exported_{name}"] = merged.pop(name)
        merged[name] = value
    return tuple(sorted(merged.items()))


class Scraper:
    """Scrapes targets into a :class:`MetricsStore`: once (:meth:`scrape_once`), for a while, or in the background."""

    def __init__(
        self,
        store: MetricsStore,
        targets: Sequence[ScrapeTarget] = (),
        *,
        source: TargetSource | None = None,
        interval_s: float = 15.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not interval_s > 0 or not timeout_s > 0:
            raise ScrapeError(
                f"interval {interval_s} s and timeout {timeout_s} s must be positive", fix="e.g. 15 and 10"
            )
        self.store = store
        self.static_targets = list(targets)
        self.source = source
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self.source_error: str | None = None
        self._client = http_client(timeout_s=timeout_s, headers={"Accept": _ACCEPT}, transport=transport)
        self._health: dict[str, TargetHealth] = {}
        # Per target: series text -> parsed name and labels, and parsed labels -> with the target's.
        self._parsed: dict[str, dict[str, tuple[str, Labels]]] = {}
        self._merged: dict[tuple[str, Labels], dict[Labels, Labels]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="scrape")

    def targets(self) -> list[ScrapeTarget]:
        """The static targets plus the source's, one per ``job/instance``."""
        found = {t.key: t for t in self.static_targets}
        if self.source is not None:
            try:
                extra = list(self.source())
            except Exception as exc:
                self.source_error = f"{type(exc).__name__}: {exc}"
            else:
                self.source_error = None
                for target in extra:
                    found.setdefault(target.key, target)
        return list(found.values())

    def health(self) -> dict[str, TargetHealth]:
        """Each target's last scrape, by ``job/instance``."""
        return dict(self._health)

    def scrape_once(self) -> list[ScrapeReport]:
        """Scrape every target once, concurrently; one report per target, in target order."""
        return list(self._pool.map(self._scrape, self.targets()))

    def _fetch(self, target: ScrapeTarget) -> str:
        import httpx

        # httpx's timeout bounds each read; a target trickling bytes must not outlast the scrape's.
        deadline = time.monotonic() + self.timeout_s
        try:
            with self._client.stream("GET", target.url) as response:
                if response.status_code != 200:
                    raise ScrapeError(f"{target.url} answered HTTP {response.status_code}", field="target")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise ScrapeError(f"{target.url} sent more than {MAX_BODY_BYTES} bytes", field="target")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the whole answer took too long")
        except httpx.TimeoutException:
            raise ScrapeError(f"{target.url} did not answer within {self.timeout_s:g} s", field="target") from None
        except httpx.HTTPError as exc:
            raise ScrapeError(f"{target.url} is unreachable: {type(exc).__name__}: {exc}", field="target") from None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScrapeError(f"{target.url} sent text that is not UTF-8 ({exc})", field="target") from None

    def _scrape(self, target: ScrapeTarget) -> ScrapeReport:
        started = self.clock()
        begun = time.monotonic()
        error: str | None = None
        samples: list[ExpositionSample] = []
        try:
            samples = parse_exposition(self._fetch(target), cache=self._parsed.setdefault(target.key, {})).samples
        except FinpilotError as exc:  # ScrapeError or ExpositionError: the target is down for this round
            error = exc.message
        duration = time.monotonic() - begun
        extra = target.target_labels()
        up = error is None
        merged = self._merged.setdefault((target.key, tuple(sorted(extra.items()))), {})
        if len(merged) > MAX_CACHED_SERIES:
            merged.clear()
        rows: list[tuple[str, Labels, float, int | None]] = []
        for s in samples:
            labels = merged.get(s.labels)
            if labels is None:
                labels = merged[s.labels] = _with_target_labels(s.labels, extra)
            rows.append((s.name, labels, s.value, s.timestamp_ms))
        own = tuple(sorted(extra.items()))
        rows += [
            ("up", own, 1.0 if up else 0.0, None),
            ("scrape_duration_seconds", own, duration, None),
            ("scrape_samples_scraped", own, float(len(samples)), None),
        ]
        write: WriteResult | None = None
        try:
            write = self.store.write(rows, scrape_time=started, target=target.key)
        except FinpilotError as exc:  # the store failed: keep the reason, the next round retries
            error = f"{error + '; ' if error else ''}store: {exc.message}"
        previous = self._health.get(target.key)
        health = TargetHealth(
            target=target.key,
            up=up,
            last_scrape=started,
            last_success=started if up else (previous.last_success if previous else None),
            last_error=error if error else (previous.last_error if previous else None),
            duration_s=duration,
            samples=len(samples),
        )
        self._health[target.key] = health
        # If this fails the health stays in memory; the samples' write already reported the store's state.
        with contextlib.suppress(FinpilotError):
            self.store.record_health(health)
        return ScrapeReport(target, up, started, duration, len(samples), write, error)

    def run_for(self, duration_s: float) -> list[list[ScrapeReport]]:
        """Scrape every ``interval_s`` for ``duration_s`` seconds (at least one round); the rounds' reports."""
        rounds = []
        deadline = time.monotonic() + duration_s
        while True:
            begun = time.monotonic()
            rounds.append(self.scrape_once())
            wait = self.interval_s - (time.monotonic() - begun)
            if time.monotonic() + max(wait, 0.0) > deadline or self._stop.wait(max(wait, 0.0)):
                return rounds

    def start(self) -> None:
        """Scrape in a background thread until :meth:`stop` (for ``finpilot up``); compacts every 5 minutes."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="watch-scraper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last_compact = time.monotonic()
        while not self._stop.is_set():
            begun = time.monotonic()
            self.scrape_once()
            if begun - last_compact >= COMPACT_EVERY_S:
                last_compact = begun
                # A failed compaction is retried on the next turn; scraping matters more than tidying.
                with contextlib.suppress(FinpilotError):
                    self.store.compact()
            self._stop.wait(max(self.interval_s - (time.monotonic() - begun), 0.0))

    def stop(self) -> None:
        """Stop the background thread (if any) and release the HTTP client and workers."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 5)
            self._thread = None
        self._pool.shutdown(wait=True)
        self._client.close()
