"""build_incidents: audit entries grouped as fault -> detection -> action -> recovery, purely and deterministically."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry, open_ledger
from finpilot.audit.kinds import CHAOS_INJECT, HEAL_RECOVERED
from finpilot.core import Settings
from finpilot.heal import Incident, build_incidents

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def entry(kind: str, action: str, subject: str, outcome: str = "ok", t: float = 0.0, **evidence: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        # Each kind's own writer: build_incidents reads only what finpilot itself wrote.
        "actor": "runbook:crash" if kind.startswith("runbook.") else "healer:local",
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "evidence": evidence,
        "time": at(t),
    }


def numbered(*fields: dict[str, Any], start: int = 0) -> list[tuple[int, dict[str, Any]]]:
    return list(enumerate(fields, start=start))


def phases(incident: Incident) -> list[tuple[str, int]]:
    return [(p.phase, p.index) for p in incident.phases]


def test_a_killed_replica_is_one_incident_from_fault_to_recovery() -> None:
    log = numbered(
        entry("console.request", "POST", "api:/api/v1/fraud/scores", t=0.0),
        entry("chaos.inject", "kill", "replica:payments/0", "injected", 1.0, instance="payments/0@n1", node="n1"),
        entry("heal.restart", "restart", "replica:payments/0@n1", "ok", 1.05, instance="payments/0@n1", node="n1"),
        entry("heal.restart", "kill-and-replace", "replica:payments/1@n2", "ok", 1.1, instance="payments/1@n2"),
        entry("heal.recovered", "ready", "replica:payments/0", "ok", 1.4, slot="payments/0", instance="payments/0@n1"),
        # A runbook that reacted to the restart, once the replica was already back.
        entry(
            "runbook.trigger", "trigger", "runbook:crash", "matched", 1.5, trigger={"kind": "heal.restart", "index": 2}
        ),
    )
    first, second = build_incidents(log)
    assert (first.id, first.subject, first.fault, first.injected) == ("incident-1", "replica:payments/0", "kill", True)
    assert phases(first) == [("fault", 1), ("detection", 2), ("recovery", 4), ("action", 5)]
    assert (first.status, first.affected, first.recovered) == (
        "recovered",
        ("replica:payments/0",),
        ("replica:payments/0",),
    )
    assert (first.detection_s, first.recovery_s) == (0.05, 0.4)
    assert (first.opened_at, first.closed_at) == (at(1.0), at(1.4))
    # A crash nobody injected is an incident too: opened by its detection, no detection time.
    assert (second.subject, second.injected, second.status) == ("replica:payments/1@n2", False, "open")
    assert phases(second) == [("detection", 3)]
    assert (second.detection_s, second.recovery_s) == (None, None)


def test_node_down_waits_for_every_replica_that_was_on_the_node() -> None:
    lost = ["payments/0@n1", "api/1@n1~2"]
    log = numbered(
        entry("chaos.inject", "node-down", "node:n1", "injected", 0.0, node="n1", agent_pid=7, replicas=lost),
        entry("heal.node", "stop-routing", "node:n1", "suspect", 0.01, replicas=lost),
        entry("heal.node", "mark-not-ready", "node:n1", "NotReady", 0.9, replicas_lost=lost),
        entry("heal.reschedule", "reschedule", "replica:payments/0", "ok", 0.91, slot="payments/0", node="n2"),
        entry("heal.reschedule", "reschedule", "replica:api/1", "ok", 0.92, slot="api/1", node="n2", from_node="n1"),
        entry("heal.recovered", "ready", "replica:payments/0", "ok", 1.5, slot="payments/0", cause="heal.node"),
        entry("heal.drain", "cordon", "node:n3", "ok", 1.6, node="n3"),
        entry("heal.recovered", "ready", "replica:api/1", "ok", 2.0, slot="api/1", cause="heal.node"),
        entry("heal.node", "mark-ready", "node:n1", "Ready", 3.0, leftover_replicas=[]),
    )
    (incident,) = build_incidents(
        log,
    )
    assert incident.affected == ("replica:api/1", "replica:payments/0")
    assert phases(incident) == [
        ("fault", 0),
        ("detection", 1),
        ("action", 2),
        ("action", 3),
        ("action", 4),
        ("recovery", 5),
        ("recovery", 7),
        ("action", 8),
    ]
    assert (incident.status, incident.detection_s, incident.recovery_s) == ("recovered", 0.01, 2.0)
    # The drain of another node is maintenance, no incident; the node's return is a follow-up.
    assert 6 not in incident.indices


def test_disk_pressure_and_a_lost_node_brought_back() -> None:
    log = numbered(
        entry("chaos.inject", "disk-full", "node:n2", "injected", 0.0, fault="disk-full", node="n2"),
        entry("heal.node", "disk-pressure", "node:n2", "DiskPressure", 0.01, node="n2", condition="DiskPressure"),
        entry("chaos.inject", "disk-full-clear", "node:n2", "injected", 5.0, fault="disk-full-clear", node="n2"),
        entry("heal.node", "disk-pressure-cleared", "node:n2", "Ready", 5.01, node="n2"),
        entry("chaos.inject", "node-down", "node:n1", "injected", 10.0, replicas=["p/0@n1"]),
        entry("heal.node", "mark-not-ready", "node:n1", "NotReady", 10.9, replicas_lost=["p/0@n1"]),
        entry("heal.recovered", "ready", "replica:p/0", "ok", 11.5, slot="p/0", cause="heal.node"),
        entry("heal.node", "restart-agent", "node:n1", "ok", 20.0, node="n1", old_agent_pid=7),
        entry("heal.node", "mark-ready", "node:n1", "Ready", 21.0, leftover_replicas=[]),
    )
    disk, down = build_incidents(log)
    # Clearing the fault is the operator's action; the node's own Ready entry is the recovery.
    assert phases(disk) == [("fault", 0), ("detection", 1), ("action", 2), ("recovery", 3)]
    assert (disk.affected, disk.status, disk.detection_s, disk.recovery_s) == (("node:n2",), "recovered", 0.01, 5.01)
    # The node's new agent and its return come after the replica recovered: follow-ups, no new incident.
    assert phases(down) == [("fault", 4), ("detection", 5), ("recovery", 6), ("action", 7), ("action", 8)]
    assert down.recovery_s == 1.5


def test_a_follow_up_long_after_recovery_is_not_part_of_the_incident() -> None:
    log = numbered(
        entry("chaos.inject", "node-down", "node:n1", "injected", 0.0, replicas=[]),
        entry("heal.node", "mark-not-ready", "node:n1", "NotReady", 0.9, replicas_lost=[]),
        entry("heal.node", "mark-ready", "node:n1", "Ready", 2.0),
        entry("heal.node", "mark-ready", "node:n1", "Ready", 900.0),
    )
    (incident,) = build_incidents(log)
    # A node that ran nothing is itself what the incident waits for.
    assert (incident.affected, incident.status, incident.recovery_s) == (("node:n1",), "recovered", 2.0)
    assert incident.indices == (0, 1, 2)


def test_an_incident_stays_open_until_every_affected_replica_recovers() -> None:
    log = numbered(
        entry("chaos.inject", "node-down", "node:n1", "injected", 0.0, replicas=["a/0@n1", "b/0@n1"]),
        entry("heal.recovered", "ready", "replica:a/0", "ok", 1.0, slot="a/0"),
        entry("heal.reschedule", "hold", "replica:b/0", "pending", 1.1, slot="b/0", reason="no private node"),
    )
    (incident,) = build_incidents(log)
    assert (incident.status, incident.recovered, incident.recovery_s, incident.closed_at) == (
        "open",
        ("replica:a/0",),
        None,
        None,
    )
    assert incident.detection_s is None  # nothing detected it yet


def test_a_second_fault_before_recovery_joins_the_open_incident() -> None:
    log = numbered(
        entry("chaos.inject", "kill", "replica:p/0", "injected", 0.0, instance="p/0@n1"),
        entry("heal.restart", "restart", "replica:p/0@n1", "ok", 0.1, instance="p/0@n1"),
        entry("chaos.inject", "kill", "replica:p/0", "injected", 0.2, instance="p/0@n1"),
        entry("heal.restart", "restart", "replica:p/0@n1", "ok", 0.3, instance="p/0@n1", restarts=2),
        entry("heal.recovered", "ready", "replica:p/0", "ok", 0.8, slot="p/0"),
        entry("heal.restart", "restart", "replica:p/0@n1", "ok", 5.0, instance="p/0@n1"),
    )
    first, second = build_incidents(log)
    assert phases(first) == [("fault", 0), ("detection", 1), ("fault", 2), ("action", 3), ("recovery", 4)]
    assert first.recovery_s == 0.8
    assert (second.id, second.status) == ("incident-5", "open")


def test_hang_latency_db_and_runbook_entries() -> None:
    log = numbered(
        entry("chaos.inject", "hang", "replica:p/1", "injected", 0.0, instance="p/1@n2", signal="SIGSTOP"),
        entry("heal.restart", "kill-and-replace", "replica:p/1@n2", "ok", 1.5, instance="p/1@n2", probe="liveness"),
        entry("runbook.action", "page", "runbook:hung", "ok", 1.6, trigger_index=1),
        entry("heal.restart", "restart", "replica:p/1@n2", "ok", 1.55, instance="p/1@n2"),
        entry("heal.recovered", "ready", "replica:p/1", "ok", 2.0, slot="p/1"),
        entry("chaos.inject", "latency", "service:p", "injected", 3.0, instances=["p/0@n1", "p/1@n2"], ms=200),
        entry("runbook.trigger", "match", "runbook:slow", "ok", 3.1, target="service:p"),
        entry("chaos.inject", "latency", "service:p", "injected", 9.0, instances=["p/0@n1", "p/1@n2"], ms=0),
        # The shape finpilot.heal._db._failover writes: members by name, the pair as db:pair.
        entry("chaos.inject", "db-primary-down", "db:pg1", "ok", 10.0, fault="db-primary-down", node="pg1"),
        entry("db.healer", "check", "pair", "error", 10.2, error="connection refused"),
        entry("db.fence", "fence", "db:pg1", "ok", 10.5, failed_checks=3),
        entry("db.promote", "promote", "db:pg2", "ok", 11.0, lsn="0/3000060"),
        entry("db.failover", "failover", "db:pair", "ok", 11.1, **{"from": "pg1", "to": "pg2"}),
        entry("db.rejoin", "rejoin", "db:pg1", "ok", 20.0),
        entry("db.sync", "synchronous", "db:pg2", "ok", 21.0, standby="pg1"),
        entry("runbook.action", "restart", "runbook:other", "ok", 21.0),
        entry("db.sync", "relax", "db:pg2", "ok", 4000.0, standby="pg1", failed_checks=3),
        entry("db.restart", "start", "db:pg1", "ok", 4001.0),
        entry(
            "runbook.trigger",
            "trigger",
            "runbook:db",
            "matched",
            4001.5,
            trigger={"kind": "db.sync", "subject": "db:pg2", "action": "relax", "outcome": "ok", "index": 16},
        ),
        entry("db.sync", "synchronous", "db:pg2", "ok", 4003.0, standby="pg1"),
    )
    hang, latency, db, standby = build_incidents(log)
    assert phases(hang) == [("fault", 0), ("detection", 1), ("action", 2), ("action", 3), ("recovery", 4)]
    assert phases(latency) == [("fault", 5), ("action", 6), ("recovery", 7)]
    assert (latency.status, latency.recovery_s, latency.detection_s) == ("recovered", 6.0, None)
    # Writes resume at the promotion; the summary, rejoin and re-sync follow as actions.
    assert phases(db) == [
        ("fault", 8),
        ("detection", 10),
        ("recovery", 11),
        ("action", 12),
        ("action", 13),
        ("action", 14),
    ]
    assert (db.affected, db.detection_s, db.recovery_s) == (("db",), 0.5, 1.0)
    # A standby lost an hour later is an incident of its own, opened by its detection.
    assert phases(standby) == [("detection", 16), ("action", 17), ("action", 18), ("recovery", 19)]
    assert (standby.injected, standby.status, standby.recovery_s) == (False, "recovered", 3.0)


def test_it_reads_a_real_ledger_and_ignores_order(tmp_path: Any) -> None:
    with open_ledger(Settings(data_dir=tmp_path)) as ledger:
        ledger.append(
            Entry(kind="custom.deploy", actor="pipeline:main", action="promote", subject="service:p", outcome="ok")
        )
        ledger.append(
            CHAOS_INJECT.entry(
                actor="cli:ops",
                action="kill",
                subject="replica:p/0",
                outcome="injected",
                evidence={"instance": "p/0@n1"},
            )
        )
        ledger.append(
            HEAL_RECOVERED.entry(
                actor="healer:local",
                action="ready",
                subject="replica:p/0",
                outcome="ok",
                evidence={
                    "slot": "p/0",
                    "instance": "p/0@n1~2",
                    "node": "n1",
                    "cause": "heal.restart",
                    "cause_action": "restart",
                    "since_cause_s": 1.2,
                },
            )
        )
        stored = ledger.tail(10)
    (incident,) = build_incidents(stored)
    assert phases(incident) == [("fault", 1), ("recovery", 2)]
    assert incident.status == "recovered"
    assert incident.recovery_s is not None
    assert incident.recovery_s >= 0
    shuffled = [(e.index, e.fields) for e in stored]
    random.Random(4).shuffle(shuffled)
    assert build_incidents(shuffled) == build_incidents(reversed(stored))
    assert incident.to_json()["phases"][1]["index"] == 2


KINDS = st.sampled_from(
    [
        ("chaos.inject", "kill", "injected"),
        ("chaos.inject", "node-down", "injected"),
        ("heal.restart", "restart", "ok"),
        ("heal.node", "mark-not-ready", "NotReady"),
        ("heal.node", "mark-ready", "Ready"),
        ("heal.reschedule", "reschedule", "ok"),
        ("heal.recovered", "ready", "ok"),
        ("db.fence", "fence", "ok"),
        ("db.promote", "promote", "ok"),
        ("db.rejoin", "rejoin", "ok"),
        ("runbook.action", "restart", "ok"),
        ("console.request", "POST", "ok"),
    ]
)
SUBJECTS = st.sampled_from(["replica:p/0", "replica:p/1@n2~3", "node:n1", "node:n2", "db:main", "service:p", "x"])
INSTANCES = st.lists(st.sampled_from(["p/0@n1", "p/1@n1", "p/1@n2~2", "q/0@n2"]), max_size=3)


@st.composite
def logs(draw: st.DrawFn) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    t = 0.0
    for index in draw(st.lists(st.integers(0, 10_000), unique=True, max_size=30)):
        kind, action, outcome = draw(KINDS)
        evidence: dict[str, Any] = {}
        if draw(st.booleans()):
            evidence["replicas"] = draw(INSTANCES)
        if draw(st.booleans()):
            evidence["slot"] = draw(st.sampled_from(["p/0", "p/1", "q/0"]))
        # Times mostly go forward, sometimes back (a stepped wall clock), sometimes missing.
        t += draw(st.floats(-1.0, 5.0, allow_nan=False))
        fields = entry(kind, action, draw(SUBJECTS), outcome, t, **evidence)
        if draw(st.integers(0, 9)) == 0:
            del fields["time"]
        rows.append((index, fields))
    return rows


@settings(max_examples=200, deadline=None)
@given(logs())
def test_incident_invariants(log: list[tuple[int, dict[str, Any]]]) -> None:
    incidents = build_incidents(log)
    seen = [i for incident in incidents for i in incident.indices]
    assert len(seen) == len(set(seen)), "an entry landed in two incidents"
    assert set(seen) <= {index for index, _ in log}
    for incident in incidents:
        assert list(incident.indices) == sorted(incident.indices)
        assert incident.phases[0].phase in ("fault", "detection")
        assert incident.injected == (incident.phases[0].phase == "fault")
        for value in (incident.detection_s, incident.recovery_s, *(p.since_open_s for p in incident.phases)):
            assert value is None or value >= 0
        all_back = bool(incident.affected) and set(incident.affected) <= set(incident.recovered)
        assert (incident.status == "recovered") == all_back
        assert (incident.closed_at is not None) <= (incident.status == "recovered")
    # Deterministic and independent of the order entries are passed in.
    assert build_incidents(list(reversed(log))) == incidents
