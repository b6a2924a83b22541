"""The chaos drill at benchmark size, side by side with the slow defaults, plus the router's added latency.

1. Router added latency on the drill's own stack (the demo: payments, 2 replicas, the router in
   the controller process as ``finpilot runtime up`` runs it): a separate load process sends
   ``GET /healthz`` closed-loop on one keep-alive connection, alternating blocks of ``--block``
   requests between one replica's own port (direct) and the router, so drift on the noisy
   machine hits both alike. Added = percentile(router) - percentile(direct).
2. ``run_chaos_drill`` with ``--trials`` (default 20) per fault at ``--rate`` payments/s:
   detection and recovery from the audit log, failed requests from the generator's record,
   lost/duplicated payments from the payments database, the audit ledger verified.
   ``db-primary-down`` runs on a scratch PostgreSQL HA pair (writes resumed and the old
   primary's rejoin are reported too); without PostgreSQL's binaries it is reported skipped.

The 1-minute load average is sampled every 5 s throughout: on 2 cores, anything well above
the drill's own ~2 means another job shared the machine.

Prints ONE JSON object on stdout; progress on stderr. Example:
    .venv/bin/python -m bench.heal.bench_drill --trials 20 > bench/out/heal-drill.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.audit._common import emit, header, loadavg, log, pct, target

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- load role (child process)
def _get(sock: socket.socket) -> None:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench-drill\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)


def role_load(direct: int, routed: int, n: int, block: int, warmup: int) -> None:
    socks = {}
    for name, port in (("direct", direct), ("router", routed)):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(warmup):
            _get(s)
        socks[name] = s
    results: dict[str, list[float]] = {"direct": [], "router": []}
    done = 0
    while done < n:
        step = min(block, n - done)
        for name, s in socks.items():
            for _ in range(step):
                t0 = time.perf_counter_ns()
                _get(s)
                results[name].append((time.perf_counter_ns() - t0) / 1e6)
        done += step
    print(json.dumps(results))


# ---------------------------------------------------------------------- orchestration
def _summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 4), "p99": round(pct(values, 99), 4), "n": len(values)}


def router_added_latency(args: argparse.Namespace) -> dict[str, Any]:
    from finpilot.audit import open_ledger
    from finpilot.core import Settings
    from finpilot.heal import LocalRuntime, drill_runtime, mint_demo_payments_token

    with tempfile.TemporaryDirectory(prefix="bench-drill-router-") as tmp:
        work = Path(tmp)
        ledger = open_ledger(Settings(data_dir=work))
        try:
            mint_demo_payments_token(work)  # the replicas' API token (this bench only probes /healthz)
            with LocalRuntime(drill_runtime(work), work, ledger) as rt:
                deadline = time.monotonic() + 60
                while rt.controller.status()["services"]["payments"]["ready"] < 2:
                    if time.monotonic() > deadline:
                        raise SystemExit("the demo stack did not become ready")
                    time.sleep(0.05)
                status = rt.controller.status()
                router_port = status["services"]["payments"]["router"][1]
                replica = next(v for v in status["replicas"].values() if v["slot"] == "payments/0")
                cmd = [sys.executable, "-m", "bench.heal.bench_drill", "--role", "load"]
                cmd += ["--direct", str(replica["port"]), "--routed", str(router_port)]
                cmd += ["--n", str(args.latency_n), "--block", str(args.block), "--warmup", "200"]
                load_before = loadavg()
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
        finally:
            ledger.close()
    data = json.loads(out.stdout)
    direct, routed = _summary(data["direct"]), _summary(data["router"])
    return {
        "what": "GET /healthz on the payments demo: one replica's own port vs the router (2 replicas behind it)",
        "direct_ms": direct,
        "router_ms": routed,
        "added_ms": {q: round(routed[q] - direct[q], 4) for q in ("p50", "p99")},
        "loadavg_before": load_before,
    }


class _LoadSampler:
    def __init__(self, period_s: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)

    def _run(self, period_s: float) -> None:
        while not self._stop.wait(period_s):
            self.samples.append(round(os.getloadavg()[0], 2))

    def __enter__(self) -> _LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        s = self.samples
        if not s:
            return {"n": 0}
        return {"min": min(s), "median": statistics.median(s), "max": max(s), "n": len(s)}


def side_by_side(drill: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, f in drill["faults"].items():
        if f["skipped"] is not None:
            rows.append({"fault": name, "skipped": f["skipped"]})
            continue
        row = {
            "fault": name,
            "trials": f["trials"],
            "detection_p50_s": f["detection_s"]["p50"],
            "detection_p95_s": f["detection_s"]["p95"],
            "recovery_p50_s": f["recovery_s"]["p50"],
            "recovery_p95_s": f["recovery_s"]["p95"],
            "failed": f["failed"],
            "lost": f["lost"],
            "duplicated": f["duplicated"],
            "requests": f["requests"],
            "client_p99_ms": f["client_ms"]["p99"],
        }
        if "writes_resumed_s" in f:
            row["writes_resumed_p50_s"] = f["writes_resumed_s"]["p50"]
            row["writes_resumed_p95_s"] = f["writes_resumed_s"]["p95"]
            row["rejoin_p50_s"] = f["rejoin_s"]["p50"]
            row["rejoin_p95_s"] = f["rejoin_s"]["p95"]
            row["retried_requests"] = f["retried_requests"]
        for anchor, v in f["anchors"].items():
            row[f"anchor_{anchor}_s"] = v["anchor_s"]
            row[f"anchor_{anchor}_over_p95"] = v["anchor_over_p95"]
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", choices=["main", "load"], default="main")
    ap.add_argument("--direct", type=int)
    ap.add_argument("--routed", type=int)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--trials", type=int, default=20, help="trials per fault")
    ap.add_argument("--rate", type=float, default=150.0, help="payments per second during the drill")
    ap.add_argument("--faults", default=None, help="comma-separated (default: all)")
    ap.add_argument("--latency-n", type=int, default=3000, help="requests per side for the router latency")
    ap.add_argument("--no-latency", action="store_true", help="skip the router-latency part (e.g. one fault alone)")
    ap.add_argument("--block", type=int, default=100)
    args = ap.parse_args()
    if args.role == "load":
        return role_load(args.direct, args.routed, args.n, args.block, args.warmup)

    from finpilot.heal import run_chaos_drill

    result = header("heal.chaos_drill", args)
    with _LoadSampler() as sampler:
        if not args.no_latency:
            log("router added latency on the drill's stack ...")
            result["router_added_latency"] = router_added_latency(args)
            log(f"  added p50 {result['router_added_latency']['added_ms']['p50']} ms")
        names = args.faults.split(",") if args.faults else None
        report = run_chaos_drill(faults=names, trials=args.trials, rate=args.rate, progress=log)
    drill = report.to_json()
    result["drill"] = drill
    result["side_by_side"] = side_by_side(drill)
    result["loadavg_1min_during"] = sampler.summary()
    faults = drill["faults"]
    checks: dict[str, Any] = {
        "failed_lost_duplicated": target(
            drill["totals"]["failed"] + drill["totals"]["lost"] + drill["totals"]["duplicated"], 0, "<=", "requests"
        ),
    }
    if "router_added_latency" in result:
        checks["router_added_p50"] = target(result["router_added_latency"]["added_ms"]["p50"], 1.0, "<", "ms")
    if faults.get("kill", {}).get("recovery_s", {}).get("p95") is not None:
        checks["kill_recovery_p95"] = target(faults["kill"]["recovery_s"]["p95"], 1.0, "<", "s")
    if faults.get("node-down", {}).get("recovery_s", {}).get("p95") is not None:
        checks["node_down_recovery_p95"] = target(faults["node-down"]["recovery_s"]["p95"], 10.0, "<", "s")
    db = faults.get("db-primary-down", {})
    if db.get("writes_resumed_s", {}).get("p95") is not None:
        checks["db_writes_resumed_p95"] = target(db["writes_resumed_s"]["p95"], 5.0, "<", "s")
        checks["db_recovery_p95"] = target(db["recovery_s"]["p95"], 5.0, "<", "s")
    result["targets"] = checks
    result["loadavg_after"] = loadavg()
    emit(result)


if __name__ == "__main__":
    main()
