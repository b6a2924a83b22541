"""The router against real local HTTP backends (uvicorn subprocesses on 127.0.0.1:0)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.core import InputError, NotFoundError
from finpilot.heal import Backend, RouterThread

SCRIPT = Path(__file__).with_name("router_backend.py")


@dataclass
class Proc:
    id: str
    port: int
    proc: subprocess.Popen[str]

    def backend(self, weight: int = 100) -> Backend:
        return Backend(self.id, "127.0.0.1", self.port, weight)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def spawn(*ids: str) -> list[Proc]:
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), i], stdout=subprocess.PIPE, text=True) for i in ids]
    out = []
    for i, p in zip(ids, procs, strict=True):
        assert p.stdout is not None
        out.append(Proc(i, int(p.stdout.readline()), p))
    return out


def get_json(url: str) -> dict[str, int]:
    data: dict[str, int] = httpx.get(url, timeout=5).json()
    return data


@pytest.fixture(scope="module")
def procs() -> Iterator[list[Proc]]:
    ps = spawn("b0", "b1", "b2")
    yield ps
    for p in ps:
        p.kill()


@pytest.fixture(scope="module")
def shared(procs: list[Proc]) -> Iterator[RouterThread]:
    rt = RouterThread("svc", max_body=64 * 1024)
    rt.start()
    rt.set_backends([p.backend() for p in procs])
    yield rt
    rt.stop()


def reset(rt: RouterThread, procs: list[Proc]) -> str:
    rt.set_backends([p.backend() for p in procs])
    rt.set_weights({p.id: 100 for p in procs})
    for p in procs:
        rt.set_ready(p.id, True)
        rt.set_delay(p.id, 0)
    assert rt.address is not None
    return f"http://{rt.address[0]}:{rt.address[1]}"


@pytest.fixture
def url(shared: RouterThread, procs: list[Proc]) -> str:
    return reset(shared, procs)


# ---------------------------------------------------------------------- routing
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.integers(0, 6), min_size=3, max_size=3).filter(any))
def test_weights_are_honoured(shared: RouterThread, procs: list[Proc], weights: list[int]) -> None:
    url = reset(shared, procs)
    shared.set_weights({p.id: w for p, w in zip(procs, weights, strict=True)})
    n = 3 * sum(weights) + 7  # not a whole number of rounds: the shares must still be close
    with httpx.Client(timeout=5) as client:
        seen = Counter(client.get(f"{url}/id").json()["id"] for _ in range(n))
    total = sum(weights)
    for p, w in zip(procs, weights, strict=True):
        # smooth weighted round-robin keeps every replica within one pick of its exact share per round
        assert abs(seen[p.id] - n * w / total) <= 2, (weights, seen)
        if w == 0:
            assert seen[p.id] == 0


def test_unready_backends_get_nothing(shared: RouterThread, procs: list[Proc], url: str) -> None:
    shared.set_ready("b1", False)
    with httpx.Client(timeout=5) as client:
        seen = Counter(client.get(f"{url}/id").json()["id"] for _ in range(40))
    assert seen["b1"] == 0
    assert seen["b0"] == seen["b2"] == 20
    assert shared.stats()["backends"]["b1"]["ready"] is False
    shared.set_ready("b1", True)
    with httpx.Client(timeout=5) as client:
        seen = Counter(client.get(f"{url}/id").json()["id"] for _ in range(30))
    assert seen == {"b0": 10, "b1": 10, "b2": 10}


def test_no_ready_backend_is_503(shared: RouterThread, procs: list[Proc], url: str) -> None:
    for p in procs:
        shared.set_ready(p.id, False)
    r = httpx.get(f"{url}/id", timeout=5)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["service"] == "svc"


def test_setters_validate(shared: RouterThread, procs: list[Proc], url: str) -> None:
    with pytest.raises(NotFoundError):
        shared.set_weights({"nope": 1})
    with pytest.raises(InputError):
        shared.set_weights({"b0": -1})
    with pytest.raises(InputError):
        shared.set_backends([procs[0].backend(), procs[0].backend()])
    with pytest.raises(NotFoundError):
        shared.set_delay("nope", 5)
    shared.set_ready("removed-long-ago", True)  # a stale probe result is ignored, not an error


def test_weight_override_outlives_set_backends(shared: RouterThread, procs: list[Proc], url: str) -> None:
    shared.set_weights({"b0": 0})
    shared.set_backends([procs[0].backend(), procs[1].backend()])  # the reconciler's next sync
    assert {b: s["weight"] for b, s in shared.stats()["backends"].items()} == {"b0": 0, "b1": 100}
    with httpx.Client(timeout=5) as client:
        assert {client.get(f"{url}/id").json()["id"] for _ in range(6)} == {"b1"}


def test_turning_unready_moves_waiting_retryable_requests(shared: RouterThread, procs: list[Proc], url: str) -> None:
    shared.set_weights({"b2": 0})  # equal weights b0, b1: the first pick is b0, the first in order
    outcome: dict[str, tuple[int, str, float]] = {}
    counted = f"http://127.0.0.1:{procs[0].port}/count"

    def call(method: str, key: str | None) -> None:
        t0 = time.perf_counter()
        headers = {"Idempotency-Key": key} if key else {}
        r = httpx.request(method, f"{url}/slow?id=b0&ms=4000", headers=headers, timeout=10)
        outcome[key or method] = (r.status_code, r.json()["id"], time.perf_counter() - t0)

    for method, key in (("GET", None), ("POST", "k-unready"), ("POST", None)):
        shared.set_ready("b0", True)
        shared.set_weights({"b0": 100})  # resets the rotation, so b0 is picked first again
        seen = get_json(counted).get(f"{method} /slow", 0)
        thread = threading.Thread(target=call, args=(method, key))
        thread.start()
        # b0 has the request (it is sleeping on it) before it turns unready
        _wait_until(lambda m=method, n=seen: get_json(counted).get(f"{m} /slow", 0) > n)
        shared.set_ready("b0", False)  # as the reconciler would on a failed probe of a hung replica
        thread.join(10)
    assert outcome["GET"][:2] == (200, "b1"), outcome
    assert outcome["k-unready"][:2] == (200, "b1"), outcome
    assert outcome["GET"][2] < 3, outcome  # moved at once, not after b0's 4 s
    # a POST without a key may have been processed already: it is left to finish where it is
    assert outcome["POST"][:2] == (200, "b0"), outcome


def test_chaos_delay_applies_to_one_backend(shared: RouterThread, url: str) -> None:
    shared.set_weights({"b0": 100, "b1": 0, "b2": 0})
    shared.set_delay("b0", 60)
    with httpx.Client(timeout=5) as client:
        client.get(f"{url}/id")
        t0 = time.perf_counter()
        client.get(f"{url}/id")
        assert time.perf_counter() - t0 >= 0.06
    assert shared.stats()["backends"]["b0"]["delay_ms"] == 60


# ---------------------------------------------------------------------- HTTP semantics
def test_chunked_response_streams_intact(url: str) -> None:
    expected = b"".join(bytes([65 + i % 26]) * 1000 for i in range(200))
    with httpx.Client(timeout=5) as client, client.stream("GET", f"{url}/stream?n=200&size=1000") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert b"".join(r.iter_raw()) == expected


def test_chunked_request_and_big_response_intact(url: str) -> None:
    parts = [uuid.uuid4().bytes * 100 for _ in range(20)]
    with httpx.Client(timeout=5) as client:
        r = client.post(f"{url}/echo", content=iter(parts))
        assert r.status_code == 200
        assert r.content == b"".join(parts)
        big = client.get(f"{url}/big?size=3000000")
        assert big.headers["content-length"] == "3000000"
        assert big.content == b"x" * 3_000_000
        head = client.head(f"{url}/big?size=5")
        assert head.status_code == 200
        assert head.content == b""
        assert client.get(f"{url}/id").status_code == 200  # the connection survived the HEAD


def test_big_request_bodies_get_413(shared: RouterThread, url: str) -> None:
    before = shared.stats()["backends"]
    with httpx.Client(timeout=5) as client:
        assert client.post(f"{url}/echo", content=b"x" * (64 * 1024 + 1)).status_code == 413
        chunked = client.post(f"{url}/echo", content=iter([b"y" * 40_000, b"y" * 40_000]))
        assert chunked.status_code == 413
        assert client.post(f"{url}/echo", content=b"x" * (64 * 1024)).status_code == 200
    after = shared.stats()["backends"]
    assert sum(after[b]["requests"] - before[b]["requests"] for b in after) == 1  # only the one that fitted
    assert shared.stats()["answered_by_router"]["413"] >= 2


def test_hop_by_hop_dropped_and_forwarded_added(url: str) -> None:
    headers = {"Connection": "keep-alive, x-hop", "X-Hop": "secret", "TE": "trailers", "X-End": "kept"}
    seen = httpx.get(f"{url}/headers", headers=headers, timeout=5).json()
    assert "x-hop" not in seen
    assert "te" not in seen
    assert seen["x-end"] == "kept"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["forwarded"] == "for=127.0.0.1;proto=http"
    assert seen["host"] == url.removeprefix("http://")
    chained = httpx.get(f"{url}/headers", headers={"X-Forwarded-For": "10.0.0.9"}, timeout=5).json()
    assert chained["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"


def _recv_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def test_pipelining_http10_and_expect_continue(shared: RouterThread, url: str) -> None:
    assert shared.address is not None
    with socket.create_connection(shared.address, timeout=5) as s:
        s.sendall(b"GET /id HTTP/1.1\r\nHost: a\r\n\r\nGET /id HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data = _recv_all(s)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.lower().count(b"connection: close") == 1  # only the second response, then the router closed
    with socket.create_connection(shared.address, timeout=5) as s:  # HTTP/1.0 knows no chunks
        s.sendall(b"GET /stream?n=5&size=10 HTTP/1.0\r\n\r\n")
        head, _, body = _recv_all(s).partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"".join(bytes([65 + i]) * 10 for i in range(5))
    with socket.create_connection(shared.address, timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)  # the body and the half-close may arrive together: still answered
        assert _recv_all(s).endswith(b"\r\n\r\nhello")


def test_malformed_requests_are_refused(shared: RouterThread, url: str) -> None:
    assert shared.address is not None
    for raw in (
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
        b"NONSENSE\r\n\r\n",
    ):
        with socket.create_connection(shared.address, timeout=5) as s:
            s.sendall(raw)
            assert s.recv(4096).startswith(b"HTTP/1.1 400 "), raw


def test_oversized_head_gets_431_and_idle_clients_are_closed(procs: list[Proc]) -> None:
    rt = RouterThread("svc", client_idle_s=0.3)
    try:
        address = rt.start()
        rt.set_backends([procs[0].backend()])
        with socket.create_connection(address, timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 431 ")
        with socket.create_connection(address, timeout=5) as s:
            s.sendall(b"GET /id HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
            t0 = time.monotonic()
            assert s.recv(4096) == b""  # closed by the router's idle sweep
            assert 0.1 <= time.monotonic() - t0 < 5
    finally:
        rt.stop()


def test_keep_alive_is_reused_on_both_sides(shared: RouterThread, url: str) -> None:
    shared.set_weights({"b0": 100, "b1": 0, "b2": 0})
    before = shared.stats()
    with httpx.Client(timeout=5) as client:
        ports = {client.get(f"{url}/conn").json()["port"] for _ in range(30)}
    after = shared.stats()
    assert len(ports) == 1  # one upstream connection served all 30
    assert after["client_connections"] - before["client_connections"] == 1
    assert after["backends"]["b0"]["connects"] - before["backends"]["b0"]["connects"] <= 1


def test_stats_count_requests(shared: RouterThread, url: str) -> None:
    before = shared.stats()
    with httpx.Client(timeout=5) as client:
        for _ in range(45):
            assert client.get(f"{url}/id").status_code == 200
    after = shared.stats()
    assert after["requests"] - before["requests"] == 45
    for b, stats in after["backends"].items():
        assert stats["requests"] - before["backends"][b]["requests"] == 15
        assert stats["status"]["2xx"] - before["backends"][b]["status"].get("2xx", 0) == 15
        assert stats["in_flight"] == 0
        assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    text = httpx.get(f"{url}/-/metrics", timeout=5).text
    assert (
        f'finpilot_router_requests_total{{backend="b0",service="svc"}} {after["backends"]["b0"]["requests"]}.0' in text
    )
    assert "finpilot_router_upstream_seconds_bucket" in text


def test_responses_are_counted_by_status_class_per_replica(shared: RouterThread, url: str) -> None:
    before = shared.stats()["backends"]
    with httpx.Client(timeout=5) as client:
        for _ in range(6):
            assert client.get(f"{url}/fail").status_code == 500  # a 5xx is relayed, never retried
        for _ in range(3):
            assert client.get(f"{url}/id").status_code == 200
    after = shared.stats()["backends"]
    text = httpx.get(f"{url}/-/metrics", timeout=5).text
    for b, stats in after.items():
        gained = stats["status"].get("5xx", 0) - before[b]["status"].get("5xx", 0)
        assert gained == 2, (b, gained)
        # The exposition carries the same counts, one series per replica and status class.
        for code in ("2xx", "5xx"):
            line = f'finpilot_router_responses_total{{backend="{b}",code="{code}",service="svc"}} '
            assert f"{line}{float(stats['status'][code])}" in text, (line, text)
        # A 5xx is an answer, not a connection failure: the connection-level errors did not move.
        assert stats["errors"] == before[b]["errors"]


# ---------------------------------------------------------------------- failures and retries
def _hammer(url: str, method: str, stop: threading.Event, results: list[int]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            if method == "GET":
                r = client.get(f"{url}/slow?ms=3")
            else:
                body = uuid.uuid4().hex.encode()
                r = client.post(f"{url}/echo", content=body, headers={"Idempotency-Key": body.decode()})
                assert r.content == body
            results.append(r.status_code)


def _wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_killed_backend_causes_no_client_failure(method: str) -> None:
    ps = spawn("k0", "k1", "k2")
    events: list[tuple[str, dict[str, object]]] = []
    rt = RouterThread("svc", cooloff_s=5, on_event=lambda kind, details: events.append((kind, dict(details))))
    try:
        host, port = rt.start()
        rt.set_backends([p.backend() for p in ps])
        stop = threading.Event()
        results: list[int] = []
        threads = [
            threading.Thread(target=_hammer, args=(f"http://{host}:{port}", method, stop, results)) for _ in range(4)
        ]
        for t in threads:
            t.start()
        # counted in requests, not seconds: the 2-core machine may be busy with other jobs
        _wait_until(lambda: len(results) >= 20)
        ps[0].kill()
        killed_at = len(results)
        _wait_until(lambda: len(results) >= killed_at + 60)
        stop.set()
        for t in threads:
            t.join(10)
        stats = rt.stats()
    finally:
        rt.stop()
        for p in ps:
            p.kill()
    assert len(results) >= killed_at + 60
    assert set(results) == {200}, Counter(results)
    assert stats["retries"] >= 1
    assert stats["backends"]["k0"]["ejected"] is True
    assert stats["backends"]["k0"]["errors"] >= 1
    assert ("router.backend_ejected", "k0") in {(kind, d["backend"]) for kind, d in events}


def test_post_is_retried_only_with_idempotency_key() -> None:
    c0, c1, c2 = spawn("c0", "c1", "c2")
    rt = RouterThread("svc")
    try:
        host, port = rt.start()
        url = f"http://{host}:{port}"
        # weights 2:1 make the first pick the crashing replica
        rt.set_backends([c0.backend(2), c1.backend(1)])
        r = httpx.post(f"{url}/crash-if?id=c0", content=b"pay", timeout=5)
        assert r.status_code == 502
        assert "POST /crash-if" not in get_json(f"http://127.0.0.1:{c1.port}/count")
        assert rt.stats()["retries"] == 0
        # c0 is dead now: a refused connect means the POST never left the router, so it may move.
        # It failed on a new connection, so the router cooled it off; a probe flap ends the cool-off.
        assert rt.stats()["backends"]["c0"]["ejected"] is True
        rt.set_ready("c0", False)
        rt.set_ready("c0", True)
        rt.set_weights({"c0": 2})  # restarts the rotation: c0 is picked first again
        r = httpx.post(f"{url}/echo", content=b"again", timeout=5)
        assert (r.status_code, r.content, r.headers["x-backend"]) == (200, b"again", "c1")
        assert rt.stats()["retries"] == 1
        rt.set_backends([])  # forget c0/c1 counters before the keyed case

        rt.set_backends([c2.backend(2), c1.backend(1)])
        r = httpx.post(f"{url}/crash-if?id=c2", content=b"pay", headers={"Idempotency-Key": "k1"}, timeout=5)
        assert r.status_code == 200
        assert r.json() == {"id": "c1"}
        stats = rt.stats()
        assert stats["retries"] == 2
        assert stats["backends"]["c1"]["retries"] == 1
        assert stats["backends"]["c2"]["errors"] == 1
    finally:
        rt.stop()
        for p in (c0, c1, c2):
            p.kill()


def test_active_probe_marks_a_dead_backend_unready() -> None:
    (p0, p1) = spawn("p0", "p1")
    rt = RouterThread("svc", probe_path="/readyz", probe_interval_s=0.05, probe_timeout_s=2, initially_ready=False)

    def probed() -> dict[str, bool]:
        return {b: s["probe_ready"] for b, s in rt.stats()["backends"].items()}

    def wait_for(state: dict[str, bool]) -> None:
        deadline = time.monotonic() + 5
        while probed() != state and time.monotonic() < deadline:
            time.sleep(0.02)

    try:
        rt.start()
        rt.set_backends([p0.backend(), p1.backend()])
        assert probed() == {"p0": False, "p1": False}  # initially_ready=False: nothing until a probe passes
        wait_for({"p0": True, "p1": True})
        assert probed() == {"p0": True, "p1": True}
        p0.kill()
        wait_for({"p0": False, "p1": True})
        stats = rt.stats()["backends"]
        assert stats["p0"]["probe_ready"] is False
        assert stats["p1"]["probe_ready"] is True
    finally:
        rt.stop()
        p1.kill()
    assert json.dumps(stats)  # stats are JSON-ready
