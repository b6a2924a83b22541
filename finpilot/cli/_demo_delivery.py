"""The delivery part of ``finpilot demo``: build two releases, promote the good one, roll back the bad one.

Against a running ``finpilot up`` (the demo runtime, same data dir), from the tour's own process:

1. **build**: a small pipeline shipped with the demo (written to ``<data dir>/demo/delivery/``)
   checks the two releases' environments and writes one manifest each (a ``run`` step), then
   signs each manifest and writes its SLSA provenance (``sign`` and ``provenance`` steps, the
   supply chain's own commands). The run is recorded like any ``finpilot pipeline run``
   (``deliver.pipeline_run``), so the Pipelines page shows it;
2. **good release** ``payments-demo-good`` (no fault): a canary judged against a fresh baseline,
   promoted by the judge;
3. **bad release** ``payments-demo-bad`` (``PAYMENTS_FAULT_ERROR_RATE=0.08``): the same canary,
   rolled back by the judge.

The rollouts run with the config the acceptance tests found reliable on 2 shared cores (steps of
25 % then 40 %, 15 s each, two failed analyses in a row before a rollback, an analysis every 5 s,
at least 100 requests per arm) and so need about 50 payments a second: the tour adds its own
generated traffic to what ``up`` sends (``--traffic-rate``, 20 by default) for as long as it
runs. The rollouts are written to the rollout store and the ledger of the data dir, which the
console's Rollouts page reads.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.markup import escape

from finpilot.audit import Ledger
from finpilot.cli._context import cli_actor
from finpilot.cli._output import err
from finpilot.core import CheckFailedError
from finpilot.deliver import (
    RolloutConfig,
    RolloutEngine,
    RolloutRecord,
    RolloutStore,
    default_key_path,
    load_pipeline,
    load_signing_key,
    new_rollout,
    run_entry,
    run_pipeline,
    store_path,
)
from finpilot.heal import RuntimeClient, demo_payments_token, state_dir_for

SERVICE = "payments"
GOOD = "payments-demo-good"
BAD = "payments-demo-bad"
RELEASES: dict[str, dict[str, str]] = {GOOD: {}, BAD: {"PAYMENTS_FAULT_ERROR_RATE": "0.08"}}
"""Each release's environment overrides: the bad one answers 8 % of its payments with a 503."""
EXPECTED = {GOOD: "promoted", BAD: "rolled-back"}
TOTAL_RATE = 50.0
"""Payments a second the judge needs with :data:`DEMO_ROLLOUT` (about 12 a second per arm at 25 %)."""
DEMO_ROLLOUT = RolloutConfig.model_validate(
    {"steps": [{"weight": 25, "pause_s": 15}, {"weight": 40, "pause_s": 15}], "policy": {"failure_limit": 2}}
)
"""The acceptance tests' config (docs/deliver-rollouts.md): 40 % rather than 50 % and two failures in a row,
because one replica per arm on 2 shared cores now and then has a burst of slow requests."""
PIPELINE_NAME = "payments-demo"
_POLL_S = 0.2

# The build step: check each release's environment, then write its manifest (the artifact that is
# signed and attested). Kept to the standard library: it runs as its own process.
_BUILD = """
import json, re, sys
releases = json.load(open("releases.json", encoding="utf-8"))
for release, env in sorted(releases.items()):
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}", release), release
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) for k in env), env
    manifest = {"service": "payments", "release": release, "env": {**env, "PAYMENTS_VERSION": release}}
    with open(release + ".json", "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
    print("built", release, "env:", sorted(manifest["env"]))
"""


@dataclass
class RolloutResult:
    """One rollout of the tour: how it ended, when, and the deciding verdict with its statistics."""

    release: str
    env: dict[str, str]
    expected: str
    phase: str
    ok: bool
    reason: str
    traffic_to_verdict_s: float | None
    took_s: float
    analyses: int
    verdict: str | None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    page: str | None = None


def _say(text: str) -> None:
    err().print(text)


def write_pipeline(work: Path) -> Path:
    """Write the demo's pipeline (and the releases it builds) into ``work``; the pipeline file."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "releases.json").write_text(json.dumps(RELEASES, indent=2, sort_keys=True), encoding="utf-8")
    steps: dict[str, Any] = {
        "build": {
            "type": "run",
            "command": [sys.executable, "-c", _BUILD],
            "artifacts": {name.rsplit("-", 1)[-1]: f"{name}.json" for name in RELEASES},
            "timeout_s": 60,
        }
    }
    for name in RELEASES:
        short = name.rsplit("-", 1)[-1]
        ref = "${steps.build.artifacts." + short + "}"
        steps[f"sign-{short}"] = {"type": "sign", "needs": ["build"], "artifact": ref, "out": f"{name}.sig.json"}
        steps[f"provenance-{short}"] = {
            "type": "provenance",
            "needs": ["build"],
            "artifact": ref,
            "out": f"{name}.provenance.json",
        }
    path = work / "pipeline.yaml"
    text = yaml.safe_dump({"pipeline": {"name": PIPELINE_NAME, "max_parallel": 2, "steps": steps}}, sort_keys=False)
    path.write_text("# Written by `finpilot demo`: builds the delivery tour's two releases.\n" + text, encoding="utf-8")
    return path


def build_releases(data_dir: Path, ledger: Ledger, console: str | None) -> dict[str, Any]:
    """Run the demo's pipeline and record it (``deliver.pipeline_run``); a summary of the run."""
    path = write_pipeline(data_dir / "demo" / "delivery")
    # Made once here, so that the two parallel signing steps do not both create it.
    load_signing_key(default_key_path(data_dir), create=True)
    # The thin steps run `finpilot`: the one beside this interpreter, even when its bin is not on PATH.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    _say(
        f"[bold]Build[/]: pipeline {PIPELINE_NAME} ({path}): build the manifests of {GOOD} and {BAD}, "
        "then sign each and write its SLSA provenance."
    )
    began = time.monotonic()
    record = run_pipeline(load_pipeline(path), data_dir=data_dir, use_cache=False, env=env)
    ledger.append(run_entry(record, data_dir=data_dir, actor=cli_actor()))
    took = round(time.monotonic() - began, 2)
    steps = {s.name: s.status for s in record.steps}
    page = f"{console}/pipelines/{record.id}" if console else None
    _say(
        f"   run {record.id}: {record.status} after {took:.2f} s ("
        + ", ".join(f"{name} {status}" for name, status in steps.items())
        + ")"
        + (f"; {page}" if page else "")
    )
    return {"run": record.id, "status": record.status, "took_s": took, "steps": steps, "page": page}


def _metrics(record: RolloutRecord) -> tuple[str | None, list[dict[str, Any]]]:
    """The deciding (last) analysis's verdict and its metrics' statistics."""
    if not record.analyses:
        return None, []
    last = record.analyses[-1]
    keep = ("name", "baseline", "canary", "test", "statistic", "p_value", "effect_size", "outcome")
    return last.verdict, [{k: m.get(k) for k in keep} for m in last.metrics]


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def roll_out(
    platform: RuntimeClient, store: RolloutStore, ledger: Ledger, release: str, *, timeout: float, console: str | None
) -> RolloutResult:
    """Roll ``release`` out as a canary and let the judge decide; abort it when ``timeout`` runs out."""
    env = RELEASES[release]
    knobs = ", ".join(f"{k}={v}" for k, v in env.items()) or "no fault"
    _say(
        f"[bold]Release {release}[/] ({knobs}): canary and a fresh baseline, 25 % then 40 % of the traffic each, "
        "judged every 5 s; expected: " + EXPECTED[release]
    )
    began = time.monotonic()
    record = new_rollout(
        platform, store, ledger.append, service=SERVICE, release=release, env=env, config=DEMO_ROLLOUT,
        actor=cli_actor(),
    )  # fmt: skip
    engine = RolloutEngine(record, platform, store, ledger.append)
    deadline = began + timeout
    aborted = False
    seen = 0
    while not engine.record.terminal:
        if time.monotonic() > deadline and not aborted:
            store.request(record.id, "abort", cli_actor())
            aborted = True
        engine.tick()
        for a in engine.record.analyses[seen:]:
            _say(
                f"   analysis at {a.weight} %: {a.verdict} ({a.baseline_requests} baseline / "
                f"{a.canary_requests} canary requests) -> {a.action}"
            )
        seen = len(engine.record.analyses)
        time.sleep(_POLL_S)
    record = engine.record
    verdict, metrics = _metrics(record)
    to_verdict = (
        round(record.verdict_at - record.traffic_since, 2)
        if record.verdict_at is not None and record.traffic_since is not None
        else None
    )
    for m in metrics:
        _say(
            f"   {m['name']}: baseline {_fmt(m['baseline'], '.4g')}, canary {_fmt(m['canary'], '.4g')}, "
            f"p = {_fmt(m['p_value'], '.3g')}, effect {_fmt(m['effect_size'], '.3g')} ({m['outcome']})"
        )
    page = f"{console}/rollouts?id={release}" if console else None
    took = round(time.monotonic() - began, 2)
    _say(
        f"   {record.phase}: {escape(record.outcome_reason)}; canary traffic -> verdict "
        f"{_fmt(to_verdict, '.1f')} s, whole rollout {took:.1f} s" + (f"; {page}" if page else "")
    )
    return RolloutResult(
        release=release,
        env=env,
        expected=EXPECTED[release],
        phase=record.phase,
        ok=record.phase == EXPECTED[release],
        reason=record.outcome_reason,
        traffic_to_verdict_s=to_verdict,
        took_s=took,
        analyses=len(record.analyses),
        verdict=verdict,
        metrics=metrics,
        page=page,
    )


def _wait_arms_gone(platform: RuntimeClient, *, timeout: float) -> None:
    """Wait until no replica of an earlier rollout's arms runs any more.

    The reconciler keys replicas by slot (``payments-canary/0``) and keeps a running one whose slot
    is wanted again on the same node, without comparing its env; arms removed by the last rollout
    are stopped at the reconciler's next pass. So a rollout declared before that pass could be
    judged on the old replica. (Not seen; what was seen was the agents' zygote bug, see
    docs/deliver-demo.md. The wait is cheap: usually none.)
    """
    prefix = f"{SERVICE}-"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replicas = platform.status()["replicas"].values()
        if not any(str(r["service"]).startswith(prefix) for r in replicas):
            return
        time.sleep(_POLL_S)
    raise CheckFailedError(
        f"the replicas of an earlier rollout's arms still run after {timeout:g} s",
        fix="see `finpilot runtime status`; run the tour again once only the payments replicas run",
    )


def extra_rate(info: dict[str, Any]) -> float:
    """Payments a second the tour adds so that the service gets :data:`TOTAL_RATE` in all."""
    sent = float(info.get("traffic_rate", 0.0) or 0.0)
    return max(0.0, TOTAL_RATE - sent)


def delivery_tour(data_dir: Path, ledger: Ledger, info: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """The whole delivery part (see the module docstring); its report, with ``ok`` false when a release
    did not end as expected or the build failed."""
    from finpilot.cli._demo import DemoTraffic  # imports the fraud traffic generator; only this part needs it

    console = info.get("console")
    began = time.monotonic()
    rate = extra_rate(info)
    traffic = None
    if rate > 0 and info.get("payments"):
        traffic = DemoTraffic(str(info["payments"]), rate=rate, token=demo_payments_token(data_dir))
        _say(f"[bold]Delivery[/]: adding {rate:g} payments a second to the demo's traffic ({TOTAL_RATE:g} in all)")
        traffic.start()
    try:
        build = build_releases(data_dir, ledger, console)
        rollouts: list[RolloutResult] = []
        if build["status"] == "passed":
            platform = RuntimeClient(state_dir_for(data_dir))
            store = RolloutStore(store_path(data_dir))
            for release in (GOOD, BAD):
                _wait_arms_gone(platform, timeout=30.0)
                rollouts.append(roll_out(platform, store, ledger, release, timeout=timeout, console=console))
    finally:
        if traffic is not None:
            traffic.stop()
    took = round(time.monotonic() - began, 2)
    ok = build["status"] == "passed" and len(rollouts) == len(RELEASES) and all(r.ok for r in rollouts)
    return {
        "ok": ok,
        "took_s": took,
        "extra_rate": rate,
        "pipeline": build,
        "rollouts": [asdict(r) for r in rollouts],
        "rollouts_page": f"{console}/rollouts" if console else None,
    }
