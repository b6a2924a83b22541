"""Server CPU per ``POST /v1/authorizations`` with the bearer-token check, and with it bypassed.

Two payments servers run as subprocesses of this one (uvicorn with httptools and uvloop, as
``python -m finpilot_payments`` serves), on SQLite in a scratch directory, with the allow-all
decider. One checks tokens as production does: the client sends a database token with the
``payments:authorize`` scope, so after its first request each check is the in-memory path
(SHA-256 of the token, a lock, a dict lookup, the scope test). The other is the same app whose
token store (``app.state.tokens``) this bench's own server process replaces with one that
accepts any token without hashing or looking it up. The service has no setting, variable or flag
that turns the check off. The same header is sent to both, and both still parse it
(``HTTPBearer``) and run the scope test, so the difference is the token check itself.
(FastAPI's ``dependency_overrides`` is no fair baseline: with an override in place FastAPI
re-analyses the overriding callable on every request, which cost more than the check.)

CPU is the server process's user+system time (``/proc/PID/stat``) across ``--requests``
authorizations over one keep-alive connection, per request, for ``--rounds`` rounds that
alternate between the two servers; the median of each, and their ratio, are printed as ONE
JSON object on stdout, with the CPU of :meth:`TokenStore.authenticate` alone (in this process,
100,000 calls) for scale. Example:
    .venv/bin/python -m bench.payments.bench_auth --requests 1000 --rounds 7
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from finpilot_payments._ledger import MAX_AMOUNT

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _serve(mode: str, data_dir: Path) -> None:
    """The server role: build the app, create the client's token, print the port and the token, serve."""
    import uvicorn
    from finpilot_payments import AllowAllDecider, PaymentsSettings, Principal, create_app, settle_heap

    settings = PaymentsSettings(data_dir=data_dir, bootstrap_token=os.environ["BENCH_ADMIN_TOKEN"])
    app = create_app(settings, decider=AllowAllDecider())
    _info, token = app.state.tokens.create("bench-client", ["payments:authorize"], "2026-01-01T00:00:00+00:00")
    if mode == "bypass":
        bypassed = Principal("bench", frozenset({"admin"}))

        class _AcceptAll:
            # Answers every request from "memory" without hashing or looking anything up.
            def cached(self, _token: str | None) -> Principal:
                return bypassed

        app.state.tokens = _AcceptAll()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(json.dumps({"port": sock.getsockname()[1], "token": token}), flush=True)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, loop="auto", http="auto", timeout_keep_alive=600
    )
    settle_heap()
    uvicorn.Server(config).run(sockets=[sock])


class _Server:
    def __init__(self, mode: str, work: Path, admin: str) -> None:
        env = {**os.environ, "BENCH_ADMIN_TOKEN": admin}
        argv = [sys.executable, "-m", "bench.payments.bench_auth", "--serve", mode, "--data-dir", str(work / mode)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.port, self.token = int(hello["port"]), str(hello["token"])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.keys = 0

    def post(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        self.keys += 1
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"k{self.keys}"}
        headers["Authorization"] = f"Bearer {token}"
        self.conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = self.conn.getresponse()
        data: dict[str, Any] = json.loads(response.read())
        if response.status not in {200, 201}:
            raise SystemExit(f"{path}: HTTP {response.status}: {data}")
        return data

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime

    def stop(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=15)


def _round(server: _Server, card: str, merchant: str, n: int) -> float:
    body = {"card_token": card, "merchant_id": merchant, "amount": 1, "currency": "EUR"}
    before = server.cpu_s()
    for _ in range(n):
        server.post("/v1/authorizations", body, server.token)
    return (server.cpu_s() - before) / n


def _check_us(work: Path, calls: int = 100_000) -> dict[str, float]:
    """CPU of the token check alone, in this process: a remembered database token, and the bootstrap token."""
    import time

    from finpilot_payments import PaymentsSettings, TokenStore, open_database

    db = open_database(PaymentsSettings(data_dir=work / "check"))
    try:
        admin = secrets.token_urlsafe(32)
        store = TokenStore(db, bootstrap=admin)
        token = store.create("bench-check", ["payments:authorize"], "2026-01-01T00:00:00+00:00")[1]
        out = {}
        for name, text in (("database_token_remembered", token), ("bootstrap_token", admin)):
            store.authenticate(text)
            began = time.process_time()
            for _ in range(calls):
                store.authenticate(text)
            out[name] = round(1e6 * (time.process_time() - began) / calls, 3)
        return out
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Parse, run the alternating rounds, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="authorizations per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--serve", choices=("auth", "bypass"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.data_dir)
        return 0
    admin = secrets.token_urlsafe(32)
    per_mode: dict[str, list[float]] = {"auth": [], "bypass": []}
    with tempfile.TemporaryDirectory(prefix="bench-payments-auth-") as tmp:
        servers = {mode: _Server(mode, Path(tmp), admin) for mode in per_mode}
        try:
            setup: dict[str, tuple[str, str]] = {}
            for mode, server in servers.items():
                settlement = server.post("/v1/accounts", {"kind": "settlement", "currency": "EUR"}, admin)["id"]
                customer = server.post("/v1/accounts", {"kind": "customer", "currency": "EUR"}, admin)["id"]
                merchant = server.post("/v1/accounts", {"kind": "merchant", "currency": "EUR"}, admin)["id"]
                funding = {"from_account": settlement, "to_account": customer, "amount": MAX_AMOUNT, "currency": "EUR"}
                server.post("/v1/transfers", funding, admin)
                card = server.post("/v1/cards", {"account_id": customer, "pan": "4111 1111 1111 1111"}, admin)
                setup[mode] = (card["token"], merchant)
                _round(server, card["token"], merchant, max(50, args.requests // 10))  # warm-up
            for _ in range(args.rounds):
                for mode, server in servers.items():
                    per_mode[mode].append(_round(server, *setup[mode], args.requests))
        finally:
            for server in servers.values():
                server.stop()
        check = _check_us(Path(tmp))
    auth, bypass = (statistics.median(per_mode[m]) for m in ("auth", "bypass"))
    result = {
        "what": "server CPU per POST /v1/authorizations (SQLite, allow-all decider, one keep-alive client)",
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "cpu_ms_per_request_auth": round(1000 * auth, 4),
        "cpu_ms_per_request_bypassed": round(1000 * bypass, 4),
        "added_ms": round(1000 * (auth - bypass), 4),
        "ratio": round(auth / bypass, 4),
        "rounds_ms": {m: [round(1000 * v, 4) for v in vals] for m, vals in per_mode.items()},
        "clock_tick_ms": round(1000 * _TICK_S, 1),
        "check_alone_cpu_us": check,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
