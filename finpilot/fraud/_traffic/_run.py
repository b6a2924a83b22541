"""Live traffic: the synthetic payment stream sent to the payments service over HTTP at a rate.

:func:`run_traffic` opens what the population needs through the payments API (a settlement
account, one funded customer account with a card per customer, one merchant account per
terminal), then sends one authorization per generated payment at scheduled times
``start + i / rate`` with an idempotency key each, and captures a share of what was authorized
(captures are writes too, and the service serialises its writers).

Card numbers are generated test numbers (valid Luhn) that the service tokenises; they live
only in the request bodies of the setup and are never returned, printed or logged. Requests go
only to the given base URL, with bounded concurrency and a bounded total time, over a lean
HTTP/1.1 client (:mod:`finpilot.fraud._traffic._http`) so that the generator costs far less CPU
than the service it drives. The report counts every outcome per injected fraud scenario,
which the generator knows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from finpilot.core import Backoff, InputError, Retry, SecretRef, StorageError, luhn_test_card, resolve_secret
from finpilot.fraud._traffic._csv import LABELS, read_labelled
from finpilot.fraud._traffic._http import Reply, Sender, SendError, open_sender
from finpilot.fraud._traffic._synthetic import SCENARIOS, Shift, SyntheticPayment, fraud_rates_for, iter_payments
from finpilot.watch import RateSchedule

_OUTCOMES = ("approved", "reviewed", "declined", "errors")


@dataclass(frozen=True)
class TrafficConfig:
    """What :func:`run_traffic` sends, where, how fast and for how long."""

    url: str
    """Base URL of the payments service (requests go nowhere else)."""
    rate: float = 200.0
    """Target authorizations per second."""
    duration_s: float = 60.0
    """How long to send; ``rate * duration_s`` payments are scheduled."""
    seed: int = 0
    """Seed of the population, the stream and the card numbers."""
    customers: int = 500
    """Customers (each gets an account and a card)."""
    terminals: int = 1000
    """Terminals (each gets a merchant account)."""
    fraud_rate: float = 0.02
    """Steady-state share of compromised-terminal and compromised-customer fraud."""
    shift: Shift = field(default_factory=Shift)
    """Distribution drift knobs."""
    skip_days: int = 28
    """Simulated days generated but not sent, so compromises are at steady state (and a CSV of
    ``skip_days`` days with the same seed is this population's history)."""
    capture_share: float = 0.1
    """Share of authorized payments that are captured (chosen by the seed); 1.0 captures all."""
    concurrency: int = 64
    """Most requests in flight at once."""
    request_timeout_s: float = 10.0
    """Timeout of one HTTP request."""
    setup_timeout_s: float = 300.0
    """Most time the setup (accounts, funding, cards, merchants) may take."""
    currency: str = "EUR"
    """Currency of every account and payment."""
    csv_path: Path | None = None
    """Send the rows of this handbook-schema CSV (in file order) instead of generated ones; its
    customers and terminals replace ``customers`` and ``terminals``."""
    population_out: Path | None = None
    """Where to write the generator-id to account-id map as JSON (to join a CSV history)."""
    schedule: RateSchedule | None = None
    """Send on this rate schedule (a base rate and a daily surge) instead of at ``rate``; the
    report then adds ``surges``: the surge windows sent and the latency within them."""
    token: SecretRef | None = None
    """The payments API token, by reference (an environment variable or a chmod 600 file); it needs
    ``admin`` (the setup opens a settlement account and funds customers) and is resolved at start."""

    def check(self) -> None:
        """Raise :class:`InputError` naming the option when a value is out of range."""
        checks = [
            (self.url.startswith(("http://", "https://")), "--url", "an http:// or https:// base URL"),
            (0 < self.rate <= 100_000, "--rate", "a rate between 0 and 100000 per second"),
            (0 < self.duration_s <= 86_400, "--duration", "a duration between 0 and 86400 seconds"),
            (self.customers >= 1, "--customers", "at least one customer"),
            (self.terminals >= 1, "--terminals", "at least one terminal"),
            (0 <= self.fraud_rate <= 0.5, "--fraud-rate", "a share between 0 and 0.5"),
            (self.skip_days >= 0, "--skip-days", "zero or more days"),
            (0 <= self.capture_share <= 1, "--capture-share", "a share between 0 and 1"),
            (1 <= self.concurrency <= 1024, "--concurrency", "between 1 and 1024 requests"),
        ]
        for ok, option, wanted in checks:
            if not ok:
                raise InputError(f"{option} must be {wanted}", field=option, fix=f"pass {option} with {wanted}")
        if self.schedule is not None:
            self.schedule.check()


@dataclass
class _Tally:
    """Outcome counts, overall and per scenario, and authorization latencies."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("sent", *_OUTCOMES), 0))
    per_scenario: dict[str, dict[str, int]] = field(
        default_factory=lambda: {name: dict.fromkeys(("sent", *_OUTCOMES), 0) for name in SCENARIOS.values()}
    )
    latencies: list[float] = field(default_factory=list)
    timed: list[tuple[float, float]] = field(default_factory=list)
    """``(Unix time sent, latency ms)`` of every authorization that got an answer."""
    captured: int = 0
    capture_errors: int = 0

    def add(self, scenario: int, outcome: str) -> None:
        name = LABELS[scenario]
        if name not in self.per_scenario:
            self.per_scenario[name] = dict.fromkeys(("sent", *_OUTCOMES), 0)
        for bucket in (self.counts, self.per_scenario[name]):
            bucket["sent"] += 1
            bucket[outcome] += 1


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


# One resend, at once, of a request that got no response and is safe to send again (same key).
_RESEND = Retry(attempts=2, backoff=Backoff(first_s=0.0))


def _resendable(exc: BaseException) -> bool:
    return isinstance(exc, SendError) and exc.retry


class _Client:
    """POSTs with idempotency keys and one retry on a transport error (same key, so no double effect)."""

    def __init__(self, http: Sender, nonce: str) -> None:
        self.http = http
        self.nonce = nonce
        self.counter = itertools.count()

    async def post(self, path: str, body: dict[str, Any]) -> Reply:
        key = f"traffic-{self.nonce}-{next(self.counter)}"
        return await _RESEND.acall(lambda: self.http.post(path, body, key), retry_on=_resendable)

    async def created(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        response = await self.post(path, body)
        if response.status_code != 201:
            # The service's errors never repeat what was sent, so its message is safe to show.
            raise StorageError(
                f"setting up traffic: creating {what} got HTTP {response.status_code}: {_error_text(response)}",
                field="--url",
                fix="check that --url points at a healthy payments service and the token has the admin scope",
            )
        result: dict[str, Any] = response.json()
        return result


def _error_text(response: Reply) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return ""


@dataclass(frozen=True)
class _Population:
    accounts: list[str]
    cards: list[str]
    merchants: list[str]

    def id_map(self, names: tuple[list[str], list[str]] | None = None) -> dict[str, dict[str, str]]:
        """``CUSTOMER_ID`` and ``TERMINAL_ID`` (generator indices unless ``names``) to account ids; no card data."""
        customers, terminals = names or (
            [str(i) for i in range(len(self.accounts))],
            [str(i) for i in range(len(self.merchants))],
        )
        return {
            "customers": dict(zip(customers, self.accounts, strict=True)),
            "terminals": dict(zip(terminals, self.merchants, strict=True)),
        }


async def _setup(client: _Client, config: TrafficConfig) -> _Population:
    """A settlement account, funded customers with cards, merchants; bounded concurrency."""
    currency = config.currency
    settlement = (await client.created("/v1/accounts", {"kind": "settlement", "currency": currency}, "an account"))[
        "id"
    ]
    pans = random.Random(f"cards-{config.seed}")  # nosec B311  # noqa: S311 - test card numbers, not secrets
    gate = asyncio.Semaphore(min(config.concurrency, 32))

    async def customer(pan: str) -> tuple[str, str]:
        async with gate:
            account = await client.created("/v1/accounts", {"kind": "customer", "currency": currency}, "an account")
            funding = {"from_account": settlement, "to_account": account["id"], "amount": 10**10, "currency": currency}
            await client.created("/v1/transfers", funding, "a transfer")
            card = await client.created("/v1/cards", {"account_id": account["id"], "pan": pan}, "a card")
            return str(account["id"]), str(card["token"])

    async def merchant() -> str:
        async with gate:
            return str(
                (await client.created("/v1/accounts", {"kind": "merchant", "currency": currency}, "a merchant"))["id"]
            )

    customers = await asyncio.gather(*(customer(luhn_test_card(pans)) for _ in range(config.customers)))
    merchants = await asyncio.gather(*(merchant() for _ in range(config.terminals)))
    return _Population([a for a, _ in customers], [c for _, c in customers], list(merchants))


def _stream(config: TrafficConfig) -> Iterator[SyntheticPayment]:
    per_terminal, per_customer = fraud_rates_for(
        config.fraud_rate, customers=config.customers, terminals=config.terminals
    )
    stream = iter_payments(
        customers=config.customers,
        terminals=config.terminals,
        days=None,
        compromised_terminals_per_day=per_terminal,
        compromised_customers_per_day=per_customer,
        seed=config.seed,
        shift=config.shift,
    )
    start = config.skip_days * 86_400
    return itertools.dropwhile(lambda p: p.seconds < start, stream)


async def _pay(
    client: _Client,
    population: _Population,
    config: TrafficConfig,
    p: SyntheticPayment,
    tally: _Tally,
    *,
    capture: bool,
) -> None:
    body = {
        "card_token": population.cards[p.customer],
        "merchant_id": population.merchants[p.terminal],
        "amount": max(1, round(p.amount * 100)),
        "currency": config.currency,
    }
    sent_at = time.time()
    began = time.perf_counter()
    try:
        response = await client.post("/v1/authorizations", body)
    except SendError:
        tally.add(p.scenario, "errors")
        return
    latency_ms = (time.perf_counter() - began) * 1000
    tally.latencies.append(latency_ms)
    tally.timed.append((sent_at, latency_ms))
    if response.status_code in {402, 403}:
        # 402: declined by the decider; 403: the account is frozen (a decision froze it), refused unasked.
        tally.add(p.scenario, "declined")
        return
    if response.status_code != 201:
        tally.add(p.scenario, "errors")
        return
    try:
        auth = response.json()
        auth_id, flagged = str(auth["id"]), bool(auth.get("flagged"))
    except (ValueError, KeyError, TypeError, AttributeError):  # not the authorization the API promises
        tally.add(p.scenario, "errors")
        return
    tally.add(p.scenario, "reviewed" if flagged else "approved")
    if capture:
        try:
            captured = await client.post(f"/v1/authorizations/{auth_id}/capture", {})
        except SendError:
            tally.capture_errors += 1
            return
        if captured.status_code in {200, 201}:
            tally.captured += 1
        else:
            tally.capture_errors += 1


async def run_traffic_async(
    config: TrafficConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any]:
    """:func:`run_traffic` inside a running event loop; ``transport`` lets a test inject one."""
    config.check()
    total = max(1, round(config.rate * config.duration_s))
    if config.schedule is not None:
        # The exact count depends on where in the day sending starts; this bounds the stream.
        peak = config.schedule.base * config.schedule.factor
        total = max(1, math.ceil(peak * config.duration_s))
    labelled = None
    stream: Iterator[SyntheticPayment]
    if config.csv_path is not None:
        labelled = read_labelled(config.csv_path, limit=total)
        total = len(labelled.payments)
        config = dataclasses.replace(config, customers=len(labelled.customer_ids), terminals=len(labelled.terminal_ids))
        stream = iter(labelled.payments)
    else:
        stream = _stream(config)
    token = None
    if config.token is not None:
        token = resolve_secret(config.token, field="token", hint="a payments API token").decode()
    http = open_sender(
        config.url.rstrip("/"),
        concurrency=config.concurrency,
        timeout_s=config.request_timeout_s,
        transport=transport,
        token=token,
    )
    try:
        client = _Client(http, secrets.token_hex(6))
        setup_began = time.perf_counter()
        try:
            population = await asyncio.wait_for(_setup(client, config), timeout=config.setup_timeout_s)
        except SendError as exc:
            raise StorageError(
                f"setting up traffic: cannot reach the payments service ({exc})",
                field="--url",
                fix="start the payments service and check --url",
            ) from None
        except TimeoutError:
            raise StorageError(
                f"setting up traffic took more than {config.setup_timeout_s:g} s",
                field="--customers",
                fix="use fewer --customers and --terminals, or check the payments service's health",
            ) from None
        setup_s = time.perf_counter() - setup_began
        if config.population_out is not None:
            ids = population.id_map(None if labelled is None else (labelled.customer_ids, labelled.terminal_ids))
            config.population_out.write_text(json.dumps(ids, indent=1), encoding="utf-8")
        tally = _Tally()
        gate = asyncio.Semaphore(config.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        start = loop.time()
        wall_start = time.time()
        # When each payment is due, in seconds after ``start``: evenly at ``rate``, or on the schedule.
        due: Iterator[float] = (
            (i / config.rate for i in itertools.count())
            if config.schedule is None
            else (t - wall_start for t in config.schedule.send_times(wall_start))
        )
        last_dispatch = start
        late = dispatched = 0
        captures = random.Random(f"captures-{config.seed}")  # nosec B311  # noqa: S311 - sampling, not secrets
        try:
            for at, payment in zip(due, itertools.islice(stream, total), strict=False):
                if at >= config.duration_s:
                    break
                delay = start + at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    late += 1
                await gate.acquire()
                last_dispatch = loop.time()
                dispatched += 1
                capture = captures.random() < config.capture_share
                task = asyncio.create_task(_pay(client, population, config, payment, tally, capture=capture))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _t: gate.release())
        except asyncio.CancelledError:
            # Stopped from outside (``finpilot up`` shutting down): end the requests in flight
            # before the client closes under them.
            in_flight = list(tasks)
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise
        sending_s = last_dispatch - start + 1 / config.rate
        total = dispatched
        if tasks:
            # Bounded drain: each request has its own timeout, and a capture may follow it.
            _done, pending = await asyncio.wait(tasks, timeout=2 * config.request_timeout_s + 1)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        elapsed = loop.time() - start
    finally:
        await http.aclose()
    counts = tally.counts
    return {
        "url": config.url,
        "target_rate": config.rate,
        "duration_s": round(elapsed, 3),
        "sending_s": round(sending_s, 3),
        "setup_s": round(setup_s, 3),
        "sent": counts["sent"],
        "approved": counts["approved"],
        "reviewed": counts["reviewed"],
        "declined": counts["declined"],
        "errors": counts["errors"],
        "unfinished": total - counts["sent"],
        "late_sends": late,
        "captured": tally.captured,
        "capture_errors": tally.capture_errors,
        "achieved_rate": round(total / sending_s, 2),
        "latency_ms": {"p50": _percentile(tally.latencies, 0.5), "p99": _percentile(tally.latencies, 0.99)},
        "population": {
            "customers": config.customers,
            "terminals": config.terminals,
            "seed": config.seed,
            "csv": None if config.csv_path is None else str(config.csv_path),
        },
        "scenarios": tally.per_scenario,
        **({} if config.schedule is None else {"surges": _surges(config.schedule, wall_start, elapsed, tally)}),
    }


def _surges(schedule: RateSchedule, start: float, elapsed: float, tally: _Tally) -> list[dict[str, Any]]:
    """Each surge window the sending overlapped: when, and the latency of what was sent in it."""
    found = []
    for begin, end in schedule.surges(start, start + elapsed):
        inside = [ms for t, ms in tally.timed if begin <= t < end]
        found.append(
            {
                "start": round(begin, 3),
                "end": round(end, 3),
                "answered": len(inside),
                "latency_ms": {"p50": _percentile(inside, 0.5), "p99": _percentile(inside, 0.99)},
            }
        )
    return found


def run_traffic(config: TrafficConfig) -> dict[str, Any]:
    """Set up the population, send ``rate * duration_s`` payments at ``rate``; the JSON-ready report.

    ``sent`` = ``approved + reviewed + declined + errors``, where ``declined`` also counts payments
    refused because their account is frozen (HTTP 403); ``scenarios`` splits those counts
    by injected fraud pattern (``genuine``, ``amount_over_220``, ``compromised_terminal``,
    ``compromised_customer``). ``achieved_rate`` is payments dispatched per second of sending.
    """
    return asyncio.run(run_traffic_async(config))
