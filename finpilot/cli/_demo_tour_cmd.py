"""``finpilot demo``: a scripted tour of a running ``finpilot up``: self-healing, then delivery.

``--part heal`` runs the healing tour below, ``--part watch`` the watch tour
(:mod:`finpilot.cli._demo_watch`: a latency anomaly on one replica, its alert, the runbook's
restart and the recovery), ``--part delivery`` the delivery tour (:mod:`finpilot.cli._demo_delivery`:
a pipeline run, a good release promoted, a bad one rolled back), ``--part surge`` the surge
(:mod:`finpilot.cli._demo_surge`: wait for "market open" on a ``finpilot up --surge`` and report
when the predictive autoscaler added replicas and the p99 through it), ``--part all`` (the
default) one after the other (the surge only when ``up`` sends one).

It finds the demo through the controller API's files in the data directory (the same ones
``finpilot chaos`` uses) and ``demo.json`` beside them, then injects three faults one after
the other, says what it does, waits for each recovery and prints the measured times:

1. **crash**: SIGKILL replica ``payments/0``; its node agent starts it again;
2. **node loss**: kill a node agent and every replica on it; the controller notices the
   missed heartbeats and places the replicas on the other private node, then the node is
   brought back with a fresh agent (``POST /api/v1/nodes/{name}/up``);
3. **database failover**: where PostgreSQL's binaries are installed and the HA pair exists
   (``finpilot db init --ha``, watched by ``finpilot db up``), SIGKILL its primary and wait
   for the standby to be promoted; otherwise the step is skipped with the reason.

Times come from two places: the tour's own polling of the controller (``serving_again_s``:
from just before the fault until the slot's replica is ready again, within 50 ms) and the
healer's ``heal.recovered`` audit entries (``healer_s``: from the fault it saw to ready).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.audit import Ledger, is_system_entry
from finpilot.audit.kinds import DB_FAILOVER, DB_REJOIN, HEAL_NODE, HEAL_RECOVERED
from finpilot.cli._context import cli_actor, ledger_for, settings_for
from finpilot.cli._demo_delivery import delivery_tour
from finpilot.cli._demo_surge import surge_tour
from finpilot.cli._output import JsonFlag, err, out, print_json, table
from finpilot.core import CheckFailedError, FinpilotError, InputError, NotFoundError, Settings
from finpilot.heal import RuntimeClient, kill_primary, pg_cluster_for, state_dir_for

_POLL_S = 0.05
_SERVICE = "payments"


@dataclass
class StepResult:
    """One step of the tour: what was done and what was measured (seconds)."""

    step: str
    target: str
    outcome: str  # recovered, timeout, skipped
    serving_again_s: float | None = None
    healer_s: float | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _say(text: str) -> None:
    err().print(text)


def _read_info(data_dir: Path) -> dict[str, Any]:
    # Imported here: the module imports heal only, which the tour needs anyway.
    from finpilot.cli._demo_runtime import read_demo_info

    return read_demo_info(data_dir) or {}


def _wait(check: Callable[[], Any], timeout: float) -> Any:
    """``check()`` until it returns something truthy, or ``None`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() >= deadline:
            return found or None
        time.sleep(_POLL_S)


def _serving(status: dict[str, Any], slot: str) -> dict[str, Any] | None:
    """The replica serving ``slot``, ready, or ``None``."""
    for rep in status["replicas"].values():
        if rep["slot"] == slot and rep["role"] == "serving" and rep["ready"]:
            return dict(rep)
    return None


def _entries_since(ledger: Ledger, start: int, kinds: set[str]) -> list[dict[str, Any]]:
    """Entries of ``kinds`` appended at or after ``start``, oldest first, with their index."""
    found: list[dict[str, Any]] = []
    end = ledger.size
    while end > start:
        page = ledger.tail(min(10_000, end - start), before=end)
        for stored in page:
            fields = stored.fields
            if fields.get("kind") in kinds and is_system_entry(fields):
                found.append({"index": stored.index, **fields})
        end = page[-1].index if page else start
    return sorted(found, key=lambda e: int(e["index"]))


def _recovered(ledger: Ledger, start: int, slots: set[str], timeout: float) -> dict[str, dict[str, Any]]:
    """The ``heal.recovered`` entry of each slot since ``start`` (waiting up to ``timeout`` for them all)."""
    seen: dict[str, dict[str, Any]] = {}

    def check() -> bool:
        for entry in _entries_since(ledger, start, {HEAL_RECOVERED.name}):
            slot = str(entry.get("evidence", {}).get("slot", ""))
            if slot in slots:
                seen.setdefault(slot, entry)
        return set(seen) >= slots

    _wait(check, timeout)
    return seen


def _ensure_ready(client: RuntimeClient, timeout: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = client.status()
        service = status["services"].get(_SERVICE)
        if service is None:
            raise NotFoundError(
                f"the running runtime has no '{_SERVICE}' service", fix="run the tour against `finpilot up` (the demo)"
            )
        return status if service["ready"] >= service["replicas"] else None

    status = _wait(check, timeout)
    if status is None:
        raise CheckFailedError(
            f"{_SERVICE} is not fully ready after {timeout:g} s, so the tour would measure nothing useful",
            fix="see `finpilot runtime status`, then try again",
        )
    return dict(status)


def _kill_step(client: RuntimeClient, ledger: Ledger, timeout: float) -> StepResult:
    slot = f"{_SERVICE}/0"
    before = _serving(client.status(), slot)
    if before is None:
        raise NotFoundError(f"no ready replica serves {slot}", fix="see `finpilot runtime status`")
    _say(
        f"[bold]1/3 Crash[/]: SIGKILL replica {slot} (pid {before['pid']} on {before['node']}); its node agent "
        "restarts it, and meanwhile the router retries its requests on the other replica."
    )
    start = ledger.size
    began = time.monotonic()
    injected = client.chaos("kill", slot, actor=cli_actor())
    back = _wait(
        lambda: (rep := _serving(client.status(), slot)) is not None and rep["pid"] != injected["pid"], timeout
    )
    if back is None:
        return StepResult("kill", slot, "timeout", note=f"{slot} was not serving again within {timeout:g} s")
    serving_again = round(time.monotonic() - began, 3)
    entries = _recovered(ledger, start, {slot}, timeout)
    healer = entries.get(slot, {}).get("evidence", {}).get("since_cause_s")
    _say(f"   serving again after {serving_again:.2f} s (healer's own measure: {_secs(healer)})")
    return StepResult(
        "kill",
        slot,
        "recovered",
        serving_again_s=serving_again,
        healer_s=healer,
        details={"node": before["node"], "old_pid": injected["pid"], "recovered_entry": _index(entries.get(slot))},
    )


def _node_step(client: RuntimeClient, ledger: Ledger, timeout: float) -> StepResult:
    status = client.status()
    nodes = status["nodes"]
    mine = {rep["slot"]: rep["node"] for rep in status["replicas"].values() if rep["service"] == _SERVICE}
    private = [name for name, node in nodes.items() if node["pool"] != "public" and node["status"] == "Ready"]
    # Prefer a node that leaves a ready replica elsewhere, so clients see no error at all.
    spread = [n for n in private if 0 < sum(1 for v in mine.values() if v == n) < len(mine)]
    candidates = spread or [n for n in private if n in mine.values()]
    if len(private) < 2 or not candidates:
        return StepResult(
            "node-down", "-", "skipped", note="needs two ready private nodes, one of them running payments"
        )
    node = sorted(candidates)[0]
    slots = sorted(slot for slot, where in mine.items() if where == node)
    _say(
        f"[bold]2/3 Node loss[/]: kill node {node}'s agent and everything it runs ({', '.join(slots)}); the "
        "controller must notice the missed heartbeats and place them on another private node (never on a public one)."
    )
    note = ""
    if not spread:
        # Replicas never move back by themselves, so after an earlier tour they can all sit on one node.
        note = f"every replica was on {node}: clients saw errors until one was ready elsewhere"
        _say(f"   note: {note}; restart `finpilot up` to spread them over two nodes again")
    start = ledger.size
    began = time.monotonic()
    client.chaos("node-down", node, actor=cli_actor())

    def moved() -> dict[str, Any] | None:
        now = client.status()
        reps = [_serving(now, slot) for slot in slots]
        return now if all(rep is not None and rep["node"] != node for rep in reps) else None

    after = _wait(moved, timeout)
    if after is None:
        return StepResult("node-down", node, "timeout", note=f"{', '.join(slots)} not moved within {timeout:g} s")
    serving_again = round(time.monotonic() - began, 3)
    placed = {slot: rep["node"] for slot in slots if (rep := _serving(after, slot)) is not None}
    pools = {slot: after["nodes"][where]["pool"] for slot, where in placed.items()}
    entries = _recovered(ledger, start, set(slots), timeout)
    healer = max((float(e["evidence"]["since_cause_s"]) for e in entries.values()), default=None)
    marks = _entries_since(ledger, start, {HEAL_NODE.name})
    not_ready = next((e for e in marks if e.get("action") == "mark-not-ready"), None)
    detected = not_ready["evidence"].get("last_heartbeat_age_s") if not_ready is not None else None
    _say(
        f"   {node} NotReady after {_secs(detected)} without a heartbeat; "
        f"{', '.join(f'{s} on {n}' for s, n in placed.items())}: serving again after {serving_again:.2f} s "
        f"(healer's own measure, from the NotReady mark: {_secs(healer)})"
    )
    details: dict[str, Any] = {
        "placed": placed,
        "pools": pools,
        "recovered_entries": sorted(i for e in entries.values() if (i := _index(e)) is not None),
        "node_entry": _index(not_ready),
        "detected_after_s": detected,  # the last heartbeat's age when the node was marked NotReady
    }
    details["node_back"] = _node_back(client, node, timeout)
    return StepResult(
        "node-down", node, "recovered", serving_again_s=serving_again, healer_s=healer, note=note, details=details
    )


def _node_back(client: RuntimeClient, node: str, timeout: float) -> dict[str, Any]:
    """Bring the node back with a fresh agent, where the runtime supports it."""

    def not_ready() -> bool:
        return bool(client.status()["nodes"][node]["status"] == "NotReady")

    if not _wait(not_ready, timeout):
        return {"ok": False, "reason": f"{node} was not marked NotReady within {timeout:g} s"}
    began = time.monotonic()
    try:
        client.node_up(node, actor=cli_actor())
    except FinpilotError as exc:
        _say(f"   {node} stays down ({escape(exc.message)}); restart `finpilot up` to bring it back")
        return {"ok": False, "reason": exc.message}
    if not _wait(lambda: client.status()["nodes"][node]["status"] == "Ready", timeout):
        _say(f"   {node} did not come back within {timeout:g} s; restart `finpilot up` to bring it back")
        return {"ok": False, "reason": "no heartbeat"}
    took = round(time.monotonic() - began, 3)
    _say(
        f"   {node} is back with a fresh agent after {took:.2f} s (empty: the replicas stay where they run; "
        "nothing is moved back just because a node returned)"
    )
    return {"ok": True, "ready_after_s": took}


def _db_step(settings: Settings, ledger: Ledger, timeout: float) -> StepResult:
    """Fail the PostgreSQL pair over, where it exists; the hook for the database part of the tour."""
    ha = settings.db.ha
    if ha.mode != "local":
        return StepResult("db-failover", "-", "skipped", note="db.ha.mode is patroni: Patroni fails over, not finpilot")
    try:
        cluster = pg_cluster_for(settings)
    except FinpilotError as exc:  # no PostgreSQL binaries on this machine
        return StepResult("db-failover", "-", "skipped", note=exc.message)
    if not cluster.initialised:
        return StepResult(
            "db-failover",
            "-",
            "skipped",
            note="no PostgreSQL pair here: create it with `finpilot db init --ha` and watch it with `finpilot db up`",
        )
    status = cluster.status()
    old = str(status["primary"])
    roles = {name: node["role"] for name, node in status["nodes"].items()}
    if roles.get(old) != "primary" or "standby" not in roles.values():
        return StepResult(
            "db-failover", "-", "skipped", note=f"the pair is not healthy ({roles}); start it with `finpilot db up`"
        )
    _say(
        f"[bold]3/3 Database failover[/]: SIGKILL the PostgreSQL primary {old}; the database healer (`finpilot db "
        "up`) must fence it, promote the synchronous standby and rejoin the old primary as the new standby."
    )
    start = ledger.size
    began = time.monotonic()
    kill_primary(cluster, ledger, actor=cli_actor())

    def promoted() -> str | None:
        now = cluster.status()
        return next((n for n, node in now["nodes"].items() if n != old and node["role"] == "primary"), None)

    new = _wait(promoted, timeout)
    if new is None:
        return StepResult(
            "db-failover",
            old,
            "timeout",
            note=f"no standby promoted within {timeout:g} s: is the database healer (`finpilot db up`) running?",
        )
    writable = round(time.monotonic() - began, 3)
    _say(f"   {new} is the primary and takes writes after {writable:.2f} s")
    failover = _first_entry(ledger, start, DB_FAILOVER.name, timeout)
    healer = None
    if failover is not None:
        ev = failover["evidence"]
        # From the first failed check to promoted: what the healer itself took, detection included.
        healer = round(float(ev["detection_s"]) + float(ev["fence_s"]) + float(ev["promote_s"]), 3)
    rejoin = _first_entry(ledger, start, DB_REJOIN.name, timeout)
    if rejoin is not None and rejoin["outcome"] == "ok":
        ev = rejoin["evidence"]
        _say(f"   {old} rejoined as the standby ({ev.get('method')}, {float(ev.get('took_s', 0)):.2f} s)")
    else:
        _say(f"   {old} has not rejoined yet; see `finpilot db status`")
    return StepResult(
        "db-failover",
        old,
        "recovered",
        serving_again_s=writable,
        healer_s=healer,
        details={
            "new_primary": new,
            "failover_entry": _index(failover),
            "rejoined": rejoin is not None and rejoin["outcome"] == "ok",
        },
    )


def _first_entry(ledger: Ledger, start: int, kind: str, timeout: float) -> dict[str, Any] | None:
    """The first entry of ``kind`` since ``start``, waiting up to ``timeout`` for it."""
    found: dict[str, Any] | None = _wait(lambda: next(iter(_entries_since(ledger, start, {kind})), None), timeout)
    return found


def _index(entry: dict[str, Any] | None) -> int | None:
    return int(entry["index"]) if entry is not None else None


def _secs(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "not in the ledger yet"


PARTS = ("all", "heal", "watch", "delivery", "surge")


def demo_tour(
    ctx: typer.Context,
    part: Annotated[
        str,
        typer.Option(
            "--part",
            help="all (healing, watch, delivery, then the surge), heal, watch, delivery or surge.",
            show_default=True,
        ),
    ] = "all",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each recovery.", min=1)] = 30.0,
    rollout_timeout: Annotated[
        float, typer.Option(help="Seconds before a delivery rollout that has not ended is aborted.", min=10)
    ] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """Tour a running `finpilot up`: self-healing (crash, node loss, database failover), watch and delivery.

    Healing: each fault is audited (chaos.inject) and each recovery too (heal.recovered); the
    console's Incidents page shows them as a timeline. Watch: latency on one replica is an anomaly,
    its alert (watch.alert) makes a runbook restart that replica, and latency recovers. Delivery:
    a pipeline builds, signs and attests two releases (Pipelines page); the good one is rolled out
    as a canary and promoted by the judge, the bad one (8 % errors) rolled back (Rollouts page).
    Exits 1 when a recovery did not happen in time or a release did not end as expected.
    """
    if part not in PARTS:
        raise InputError(
            f"--part {part!r} is not a part of the tour",
            field="part",
            fix="use all, heal, watch, delivery or surge",
        )
    settings = settings_for(ctx)
    data_dir = settings.data_dir
    state = state_dir_for(data_dir)
    if not (state / "controller.json").is_file():
        raise NotFoundError(
            f"no `finpilot up` is running for {data_dir}",
            fix="start `finpilot up` in another terminal (same --data-dir or FINPILOT_DATA_DIR), then run this again",
        )
    client = RuntimeClient(state)
    info = _read_info(data_dir)
    incidents = f"{info['console']}/incidents" if info.get("console") else None
    _ensure_ready(client, timeout)
    steps: list[StepResult] = []
    delivery: dict[str, Any] | None = None
    surge: dict[str, Any] | None = None
    with ledger_for(ctx) as ledger:
        if part in ("all", "heal"):
            _heal_tour(settings, client, ledger, steps, incidents, timeout)
        if part in ("all", "watch") and not any(s.outcome == "timeout" for s in steps):
            from finpilot.cli._demo_watch import watch_tour  # it imports this module's helpers

            _ensure_ready(client, timeout)
            steps.append(watch_tour(client, ledger, info, timeout))
        if part in ("all", "delivery") and not any(s.outcome == "timeout" for s in steps):
            _ensure_ready(client, timeout)
            delivery = delivery_tour(data_dir, ledger, info, timeout=rollout_timeout)
        if part == "surge" or (part == "all" and info.get("surge")):
            surge = surge_tour(settings, ledger, info, lambda: int(client.status()["services"][_SERVICE]["ready"]))
    report = {
        "part": part,
        "console": info.get("console"),
        "incidents": incidents,
        "steps": [asdict(s) for s in steps],
        "delivery": delivery,
        "surge": surge,
    }
    if as_json:
        print_json(report)
    else:
        _print_tables(steps, delivery)
    if surge is not None and not surge["met"]:
        raise CheckFailedError(
            "the surge was not met ahead of time within the SLO",
            fix="see the watch.scale entries (`finpilot audit tail`) and the Metrics page",
        )
    failed = [s.step for s in steps if s.outcome == "timeout"]
    if failed:
        raise CheckFailedError(
            f"no recovery in time for: {', '.join(failed)}", fix="see `finpilot runtime status` and the Incidents page"
        )
    if delivery is not None and not delivery["ok"]:
        raise CheckFailedError(
            "the delivery tour did not end as expected: "
            + ", ".join(f"{r['release']} {r['phase']}" for r in delivery["rollouts"])
            + ("" if delivery["pipeline"]["status"] == "passed" else f"; pipeline {delivery['pipeline']['status']}"),
            fix="see `finpilot rollout status ID`, `finpilot pipeline show RUN` and the Rollouts page",
        )


def _heal_tour(
    settings: Settings,
    client: RuntimeClient,
    ledger: Ledger,
    steps: list[StepResult],
    incidents: str | None,
    timeout: float,
) -> None:
    """The healing part: crash, node loss, database failover; stops at the first fault not recovered in time."""
    for step in (_kill_step, _node_step):
        steps.append(step(client, ledger, timeout))
        if incidents is not None:
            _say(f"   timeline: {incidents}")
        if steps[-1].outcome == "timeout":
            # Faults on top of an unrecovered one would measure nothing: stop here and say so.
            _say(f"   [bold red]no recovery within {timeout:g} s[/]: {escape(steps[-1].note)}; the tour stops")
            return
        if steps[-1].outcome == "recovered":
            _ensure_ready(client, timeout)  # the next fault starts from a healthy service
    db = _db_step(settings, ledger, timeout)
    if db.outcome == "skipped":
        _say(f"[bold]3/3 Database failover[/]: skipped: {escape(db.note)}")
    elif incidents is not None:
        _say(f"   timeline: {incidents}")
    steps.append(db)


def _print_tables(steps: list[StepResult], delivery: dict[str, Any] | None) -> None:
    if steps:
        grid = table("step", "target", "outcome", "serving again s", "healer s", "note", title="Demo tour")
        for s in steps:
            grid.add_row(
                s.step,
                s.target,
                s.outcome,
                "" if s.serving_again_s is None else f"{s.serving_again_s:.2f}",
                "" if s.healer_s is None else f"{s.healer_s:.2f}",
                escape(s.note),
            )
        out().print(grid)
    if delivery is not None:
        grid = table(
            "release", "expected", "outcome", "traffic -> verdict s", "rollout s", "deciding metric", title="Delivery"
        )
        for r in delivery["rollouts"]:
            worst = min(r["metrics"], key=lambda m: m["p_value"] if m["p_value"] is not None else 1.0, default=None)
            metric = (
                f"{worst['name']} p={worst['p_value']:.3g} effect={worst['effect_size']:.3g}"
                if worst is not None and worst["p_value"] is not None and worst["effect_size"] is not None
                else "-"
            )
            to_verdict = r["traffic_to_verdict_s"]
            grid.add_row(
                r["release"],
                r["expected"],
                r["phase"],
                "" if to_verdict is None else f"{to_verdict:.1f}",
                f"{r['took_s']:.1f}",
                escape(metric),
            )
        out().print(grid)
        pipeline = delivery["pipeline"]
        out().print(f"pipeline run {pipeline['run']}: {pipeline['status']} ({pipeline['took_s']:.1f} s)")
