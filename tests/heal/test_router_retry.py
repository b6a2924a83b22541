"""A retryable request the client has not had a byte of is never answered 502 while a ready replica exists.

Regression for the flaky 502 of test_runtime_crash: a replica SIGKILLed between writing a response head
and its body left the router with a cut-off response, which it answered 502 without a retry. The scripted
upstreams (fake_upstream.py) reproduce each way a replica can fail mid-exchange, deterministically.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_upstream import FakeUpstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finpilot.heal import Backend, RouterThread

BAD = ("cut-body", "cut-head", "garbled", "drop", "reset")


@pytest.fixture
def router() -> Iterator[RouterThread]:
    rt = RouterThread("svc", connect_timeout_s=1.0)
    rt.start()
    yield rt
    rt.stop()


def _url(rt: RouterThread) -> str:
    assert rt.address is not None
    return f"http://{rt.address[0]}:{rt.address[1]}"


def _upstreams(*specs: tuple[str, str]) -> list[FakeUpstream]:
    return [FakeUpstream(id, behaviour) for id, behaviour in specs]


@pytest.mark.parametrize("behaviour", BAD)
def test_idempotent_request_moves_past_a_replica_failing_mid_exchange(router: RouterThread, behaviour: str) -> None:
    bad, good = ups = _upstreams(("bad", behaviour), ("good", "ok"))
    try:
        router.set_backends([bad.backend(2), good.backend(1)])  # 2:1, so the first pick is the bad one
        r = httpx.get(f"{_url(router)}/id", timeout=5)
        assert (r.status_code, r.json()) == (200, {"id": "good"})
        assert bad.seen["GET"] == 1
        assert router.stats()["retries"] == 1
    finally:
        for u in ups:
            u.close()


@pytest.mark.parametrize("behaviour", ["cut-body", "cut-head", "garbled"])
def test_post_without_key_that_reached_a_replica_is_not_retried(router: RouterThread, behaviour: str) -> None:
    bad, good = ups = _upstreams(("bad", behaviour), ("good", "ok"))
    try:
        router.set_backends([bad.backend(2), good.backend(1)])
        r = httpx.post(f"{_url(router)}/pay", content=b"pay", timeout=5)
        assert r.status_code == 502
        assert (bad.seen["POST"], good.seen["POST"]) == (1, 0)  # it may have been processed: never sent twice
        router.set_weights({"bad": 2})  # the rotation restarts: the bad replica is picked first again
        keyed = httpx.post(f"{_url(router)}/pay", content=b"pay", headers={"Idempotency-Key": "k1"}, timeout=5)
        assert (keyed.status_code, keyed.json()) == (200, {"id": "good"})
    finally:
        for u in ups:
            u.close()


def test_replica_killed_between_head_and_body_is_not_a_502(router: RouterThread) -> None:
    # The test_runtime_crash flake on real processes: uvicorn writes the head, the process dies before the body.
    script = str(Path(__file__).with_name("router_backend.py"))
    procs = [subprocess.Popen([sys.executable, script, i], stdout=subprocess.PIPE, text=True) for i in ("k0", "k1")]
    try:
        ports = [int(p.stdout.readline()) for p in procs if p.stdout is not None]
        router.set_backends([Backend("k0", "127.0.0.1", ports[0], 2), Backend("k1", "127.0.0.1", ports[1], 1)])
        r = httpx.get(f"{_url(router)}/die-mid-response?id=k0", timeout=5)
        assert (r.status_code, r.json()) == (200, {"id": "k1"})
        assert procs[0].wait(5) == -signal.SIGKILL
        assert router.stats()["retries"] == 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(5)
            if p.stdout is not None:
                p.stdout.close()


def test_retry_waits_for_a_replica_turning_ready(router: RouterThread) -> None:
    # The killed replica is tried first; the other one is unready at that instant (a probe flap) and ready
    # 0.2 s later: the request waits for it instead of getting a 502 at once.
    bad, good = ups = _upstreams(("bad", "drop"), ("good", "ok"))
    try:
        router.set_backends([bad.backend(), good.backend()])
        router.set_ready("good", False)
        threading.Timer(0.2, router.set_ready, args=("good", True)).start()
        started = time.monotonic()
        r = httpx.get(f"{_url(router)}/id", timeout=5)
        assert (r.status_code, r.json()) == (200, {"id": "good"})
        assert 0.15 < time.monotonic() - started < 1.0
    finally:
        for u in ups:
            u.close()


def test_retry_gives_up_after_the_connect_budget() -> None:
    # The only replica fails on a new connection: it cools off (5 s), and the retry waits for a replica
    # for connect_timeout_s (0.3 s) only, then answers 502.
    (bad,) = _upstreams(("bad", "drop"))
    rt = RouterThread("svc", connect_timeout_s=0.3, cooloff_s=5)
    rt.start()
    try:
        rt.set_backends([bad.backend()])
        started = time.monotonic()
        r = httpx.get(f"{_url(rt)}/id", timeout=5)
        assert r.status_code == 502
        assert 0.25 < time.monotonic() - started < 2.0
        assert bad.seen["GET"] == 1
        assert rt.stats()["backends"]["bad"]["ejected"] is True
    finally:
        rt.stop()
        bad.close()


def test_stale_pooled_connections_to_the_only_replica_are_not_a_502(router: RouterThread) -> None:
    # The replica closes each keep-alive connection when its second request arrives (the idle-close race):
    # every pooled connection is stale. The retry goes to the same, still ready, replica on a fresh connection.
    (one,) = _upstreams(("one", "one-per-conn"))
    try:
        router.set_backends([one.backend()])
        url = _url(router)
        with httpx.Client(timeout=5) as client:
            barrier = threading.Barrier(6)
            codes: list[int] = []

            def call() -> None:  # concurrent requests fill the pool with several connections
                barrier.wait()
                codes.append(httpx.get(f"{url}/id", timeout=5).status_code)

            threads = [threading.Thread(target=call) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            codes += [client.get(f"{url}/id").status_code for _ in range(10)]
        assert codes == [200] * 16
        assert router.stats()["answered_by_router"] == {}
        unkeyed = httpx.post(f"{url}/pay", content=b"x", timeout=5)  # a sent POST without a key stays unretried
        assert unkeyed.status_code in (200, 502)
    finally:
        one.close()


def test_a_timed_out_replica_is_not_asked_again() -> None:
    (slow,) = _upstreams(("slow", "ok"))
    rt = RouterThread("svc", response_timeout_s=0.3)
    rt.start()
    try:
        rt.set_backends([slow.backend()])
        rt.set_delay("slow", 0)
        hung = threading.Event()

        # a replica that reads the request and never answers
        import socket

        listener = socket.create_server(("127.0.0.1", 0))
        conns: list[socket.socket] = []

        def accept() -> None:
            while not hung.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conns.append(conn)

        threading.Thread(target=accept, daemon=True).start()
        rt.set_backends([Backend("hung", "127.0.0.1", int(listener.getsockname()[1]))])
        started = time.monotonic()
        r = httpx.get(f"{_url(rt)}/id", timeout=5)
        assert r.status_code == 504
        assert time.monotonic() - started < 0.9  # one response timeout, not one per attempt
        hung.set()
        listener.close()
        for c in conns:
            c.close()
    finally:
        rt.stop()
        slow.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    behaviours=st.lists(st.sampled_from(("ok", *BAD)), min_size=1, max_size=3).filter(lambda b: "ok" in b),
    weights=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    keyed=st.booleans(),
)
def test_any_ready_replica_that_can_serve_does(
    router: RouterThread, behaviours: list[str], weights: list[int], keyed: bool
) -> None:
    ups = _upstreams(*((f"u{i}", b) for i, b in enumerate(behaviours)))
    try:
        router.set_backends([u.backend(w) for u, w in zip(ups, weights, strict=False)])
        url = _url(router)
        r = httpx.get(f"{url}/id", timeout=5)
        assert r.status_code == 200, behaviours
        assert r.json()["id"] in {u.id for u in ups if u.behaviour == "ok"}
        headers = {"Idempotency-Key": "k"} if keyed else {}
        p = httpx.post(f"{url}/pay", content=b"x", headers=headers, timeout=5)
        posts = sum(u.seen["POST"] for u in ups)
        if keyed:
            assert p.status_code == 200
        else:
            # sent once at most; a 502 only when the one replica it reached failed after getting it
            assert posts == 1
            assert p.status_code == 200 or next(u for u in ups if u.seen["POST"]).behaviour != "ok"
    finally:
        for u in ups:
            u.close()
