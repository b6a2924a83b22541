"""Issue 3, acceptance 4: three `finpilot fraud serve` workers, one SIGKILLed mid-stream.

Every payment must end with exactly one decision message and exactly one ``fraud.decision``
entry in the shared ledger, and none may be missing. Real processes, the real NATS server,
one SQLite ledger file shared by all three.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError
from nats_helpers import decision_count, generated, jetstream, ledger_decisions, unique_layout, wait_for

from finpilot.audit import open_ledger
from finpilot.core import Settings
from finpilot.fraud import NatsLayout, publish_payments
from finpilot.fraud._serving._nats_layout import read_decisions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

WORKERS = 3
LEASE_S, ACK_WAIT_S = 2.0, 4.0


def start_worker(name: str, layout: NatsLayout, url: str, config: Path, data_dir: Path) -> subprocess.Popen[str]:
    """One worker process, exactly as an operator would start it."""
    command = [
        sys.executable,
        "-m",
        "finpilot.cli",
        "--config",
        str(config),
        "--data-dir",
        str(data_dir),
        "fraud",
        "serve",
        "--nats",
        url,
        "--worker-id",
        name,
        "--prefix",
        layout.prefix,
        "--partitions",
        str(layout.partitions),
        "--lease-s",
        str(LEASE_S),
        "--ack-wait-s",
        str(ACK_WAIT_S),
        "--json",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPILOT_")}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


async def lease_holders(js: JetStreamContext, layout: NatsLayout) -> dict[str, str]:
    """Partition lease -> worker, as the leases bucket says now."""
    leases = await js.key_value(layout.leases_bucket)
    try:
        keys = [k for k in await leases.keys() if k.startswith("p.")]
    except NoKeysError:
        return {}
    held: dict[str, str] = {}
    for key in keys:
        try:
            held[key] = ((await leases.get(key)).value or b"").decode()
        except Exception:  # expired between the listing and the read
            continue
    return held


async def quiet(js: JetStreamContext, layout: NatsLayout) -> bool:
    """Every payment acknowledged: nothing pending or in flight on any partition."""
    for partition in range(layout.partitions):
        info = await js.consumer_info(layout.payments_stream, f"p{partition}")
        if info.num_pending or info.num_ack_pending:
            return False
    return True


def test_three_workers_one_killed_mid_stream_decide_every_payment_exactly_once(
    nats_url: str, tiny_fraud_model: Path, tmp_path: Path
) -> None:
    payments = generated(4, customers=300)
    assert len(payments) > 2000
    layout = unique_layout(partitions=12, lease_s=LEASE_S, ack_wait_s=ACK_WAIT_S)
    data_dir = tmp_path / "data"
    config = tmp_path / "finpilot.yaml"
    config.write_text(f"fraud:\n  model_dir: {tiny_fraud_model}\n")
    report: dict[str, Any] = {}

    async def scenario() -> list[dict[str, Any]]:
        async with jetstream(nats_url, layout) as js:
            procs = {f"w{i}": start_worker(f"w{i}", layout, nats_url, config, data_dir) for i in range(WORKERS)}
            try:

                async def balanced() -> bool:
                    held = Counter((await lease_holders(js, layout)).values())
                    return sorted(held.values()) == [layout.partitions // WORKERS] * WORKERS

                await wait_for(balanced, 90, "three workers holding 4 partitions each")
                victim = (await lease_holders(js, layout))["p.0"]
                report["victim_partitions"] = sorted(
                    k for k, v in (await lease_holders(js, layout)).items() if v == victim
                )

                async def feed() -> None:  # a steady stream rather than one backlog
                    for start in range(0, len(payments), 100):
                        await publish_payments(js, layout, payments[start : start + 100])
                        await asyncio.sleep(0.05)

                fed_at = time.monotonic()
                feeder = asyncio.create_task(feed())
                third = len(payments) // 3
                await wait_for(lambda: _at_least(js, layout, third), 90, "a third of the payments decided")
                procs[victim].send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                report["killed"] = victim

                async def taken_over() -> bool:
                    held = await lease_holders(js, layout)
                    return len(held) == layout.partitions and victim not in held.values()

                await wait_for(taken_over, 30, "the survivors holding all partitions")
                report["takeover_s"] = round(time.monotonic() - killed_at, 1)
                await feeder

                async def done() -> bool:
                    return await decision_count(js, layout) >= len(payments) and await quiet(js, layout)

                await wait_for(done, 120, "every payment decided and acknowledged")
                report["done_after_kill_s"] = round(time.monotonic() - killed_at, 1)
                report["per_s"] = round(len(payments) / (time.monotonic() - fed_at))
                for name, proc in procs.items():
                    if name != victim:
                        proc.send_signal(signal.SIGTERM)
                for name, proc in procs.items():
                    out, err = proc.communicate(timeout=30)
                    if name == victim:
                        assert proc.returncode == -signal.SIGKILL
                    else:
                        assert proc.returncode == 0, err
                        report[name] = json.loads(out)
                return await read_decisions(js, layout)
            finally:
                for proc in procs.values():
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()

    decisions = asyncio.run(scenario())
    victim = report["killed"]

    # Exactly one decision message per payment, and none missing.
    per_tx = Counter(d["transaction_id"] for d in decisions)
    assert set(per_tx) == {p.tx_id for p in payments}
    assert max(per_tx.values()) == 1
    assert len(decisions) == len(payments)

    # Exactly one fraud.decision ledger entry per payment, and each message points at it.
    with open_ledger(Settings(data_dir=data_dir)) as ledger:
        counts = ledger_decisions(ledger)
        assert counts == Counter({f"payment:{p.tx_id}": 1 for p in payments})
        for d in decisions[:: max(1, len(decisions) // 50)]:
            entry = ledger.entry(d["audit_index"]).fields
            assert entry["subject"] == f"payment:{d['transaction_id']}"
            assert entry["action"] == d["decision"]
        assert ledger.verify().ok

    # The kill really was mid-stream: the victim decided some, and the survivors took its partitions.
    by_worker = Counter(d["worker"] for d in decisions)
    assert 0 < by_worker[victim] < len(payments)
    survivors = [name for name in report if name.startswith("w") and name != victim]
    assert sum(report[name]["claimed"] for name in survivors) >= layout.partitions
    victim_parts = {int(k.split(".")[1]) for k in report["victim_partitions"]}
    after = {d["partition"] for d in decisions if d["worker"] != victim}
    assert victim_parts <= after
    print(
        f"\nNATS acceptance: {len(payments)} payments, killed {victim} holding {sorted(victim_parts)}; "
        f"takeover {report['takeover_s']} s, all done {report['done_after_kill_s']} s after the kill "
        f"({report['per_s']} payments/s overall); "
        f"by worker {dict(by_worker)}; recovered "
        f"{sum(report[n]['recovered'] for n in survivors)}, already decided "
        f"{sum(report[n]['already_decided'] for n in survivors)}"
    )


async def _at_least(js: JetStreamContext, layout: NatsLayout, n: int) -> bool:
    return await decision_count(js, layout) >= n
