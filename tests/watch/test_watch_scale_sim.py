"""The autoscaling simulator: hand-checked surges, exact accounting, the oracle's minimality."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import (
    CapacityModel,
    HpaPolicy,
    Observation,
    OraclePolicy,
    PredictivePolicy,
    Trace,
    oracle_targets,
    read_decisions,
    simulate,
    simulate_all,
    write_decisions,
)

MODEL = CapacityModel()


def make_trace(demand: list[float], start: float = 0.0) -> Trace:
    times = [start + i * MODEL.step_s for i in range(len(demand))]
    return Trace(name="hand", times=times, demand=demand, interval_s=15.0, rows=len(demand), scale=1.0, gaps=())


class Scripted:
    """A policy that asks for a fixed replica count at each step."""

    def __init__(self, name: str, targets: list[int]) -> None:
        self.name = name
        self.targets = targets

    def decide(self, seen: Observation) -> int:
        return self.targets[seen.step]


def surge() -> Trace:
    # 20 req/s for 10 minutes, then a step to 100 req/s for 10 minutes.
    return make_trace([20.0] * 40 + [100.0] * 40)


def test_a_step_surge_violates_hpa_for_the_startup_delay_but_not_the_oracle() -> None:
    trace = surge()
    results = simulate(trace, [HpaPolicy(MODEL, target_utilization=0.7), OraclePolicy(trace.demand, MODEL)], MODEL)
    hpa, oracle = results["hpa"], results["oracle"]
    assert oracle.violation_steps == 0
    assert oracle.violation_minutes == 0
    # HPA sees the surge one scrape late (step 41), its first replicas are ready 60 s later (45),
    # and it is capped at max(2x, +4) per sync: 3 -> 7 (step 41) -> 14 (step 42), ready at 46.
    assert hpa.violation_steps == 6  # steps 40..45
    assert hpa.violation_minutes == 2  # 600-659 s and 660-719 s
    assert hpa.decisions[40] == 3
    assert hpa.decisions[41] == 7
    assert hpa.decisions[42] == 14
    assert max(hpa.decisions) == 14


def test_the_oracle_asks_one_startup_ahead_and_drops_at_once() -> None:
    targets = oracle_targets([20.0] * 40 + [100.0] * 40 + [20.0] * 40, MODEL)
    assert targets[35] == 2
    assert targets[36] == 10  # 40 - startup_steps
    assert targets[79] == 10
    assert targets[80] == 2


def test_hpa_holds_replicas_for_the_stabilisation_window_after_a_drop() -> None:
    trace = make_trace([100.0] * 60 + [20.0] * 60)
    hpa = simulate(trace, [HpaPolicy(MODEL, target_utilization=0.7)], MODEL)["hpa"]
    peak = hpa.decisions[59]
    assert peak >= 15
    # The drop is seen at step 61; the 300 s (20-step) window still holds the high recommendations.
    assert all(n == peak for n in hpa.decisions[60:80])
    assert hpa.decisions[82] == 3


def test_minutes_and_replica_hours_are_counted_as_the_model_says() -> None:
    # 8 steps (2 minutes) of 15 req/s; the fleet starts with 2 ready replicas.
    trace = make_trace([15.0] * 8)
    steady = Scripted("steady", [3] * 8)
    # Drop to 1 at step 2 (too few: violated at once), ask for 2 again at step 3 (ready at step 7).
    dip = Scripted("dip", [2, 2, 1, 2, 2, 2, 2, 2])
    results = simulate(trace, [steady, dip], MODEL)
    assert results["steady"].violation_steps == 0
    assert results["steady"].replica_hours == 3 * 8 * 15 / 3600
    assert results["dip"].violation_steps == 5  # steps 2..6
    assert results["dip"].violation_minutes == 2  # steps 2-3 in minute 0, 4-6 in minute 1
    assert results["dip"].replica_hours == (7 * 2 + 1) * 15 / 3600
    assert results["dip"].scale_downs == 1
    assert results["dip"].scale_ups == 1


def test_a_violation_minute_counts_once_however_many_steps_it_holds() -> None:
    trace = make_trace([15.0] * 8)
    results = simulate(trace, [Scripted("short", [1] * 8)], MODEL)
    assert results["short"].violation_steps == 8
    assert results["short"].violation_minutes == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=200), min_size=12, max_size=60))
def test_the_oracle_never_violates_and_no_replica_step_can_be_saved(demand: list[float]) -> None:
    trace = make_trace(demand)
    oracle = simulate(trace, [OraclePolicy(demand, MODEL)], MODEL)["oracle"]
    assert oracle.violation_steps == 0
    targets = oracle_targets(demand, MODEL)
    # Minimal: one replica fewer at any one step (after the first start-up delay) breaks the SLO.
    for step in range(MODEL.startup_steps, len(demand)):
        if targets[step] <= MODEL.min_replicas:
            continue
        fewer = list(targets)
        fewer[step] -= 1
        cut = simulate(trace, [Scripted("cut", fewer)], MODEL)["cut"]
        assert cut.violation_steps > 0, step


def test_every_policy_serves_a_flat_load_without_violation_near_the_oracle() -> None:
    trace = make_trace([55.0] * 400)
    report = simulate_all(trace, MODEL)
    for result in report.results.values():
        assert result.violation_minutes == 0
    assert report.results["predictive"].replica_hours <= 1.15 * report.results["oracle"].replica_hours


def test_the_predictive_policy_scales_ahead_of_a_ramp() -> None:
    # A slow ramp from 20 to 200 req/s over 30 minutes: a forecaster sees it coming.
    demand = [20.0] * 80 + [20.0 + 180.0 * i / 120 for i in range(120)] + [200.0] * 80
    report = simulate_all(make_trace(demand), MODEL)
    assert report.results["predictive"].violation_minutes == 0
    assert report.results["oracle"].violation_minutes == 0
    assert report.results["predictive"].replica_hours < report.results["hpa"].replica_hours


def test_decisions_round_trip_and_replay_to_the_same_figures(tmp_path: Path) -> None:
    demand = [20.0] * 40 + [100.0] * 40 + [30.0] * 40
    trace = make_trace(demand, start=1_400_000_000.0)
    report = simulate_all(trace, MODEL)
    path = tmp_path / "decisions.csv"
    predictive = report.results["predictive"]
    write_decisions(path, trace.times, predictive.decisions)
    times, replicas = read_decisions(path)
    assert times == list(trace.times)
    assert replicas == predictive.decisions
    assert path.read_text().splitlines()[0] == "timestamp,replicas"
    replay = simulate(trace, [Scripted("replay", replicas)], MODEL)["replay"]
    assert replay.violation_minutes == predictive.violation_minutes
    assert replay.replica_hours == predictive.replica_hours


def test_the_predictive_policy_explains_each_decision() -> None:
    policy = PredictivePolicy(MODEL)
    decision = policy.plan(Observation(step=0, time=15.0, demand=42.0, ready=5, total=5))
    assert decision.reason in {"predictive", "reactive", "hold"}
    assert decision.target >= MODEL.needed(42.0)
    assert len(decision.forecast.mean) == decision.horizon


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=400), min_size=30, max_size=120))
def test_hpa_respects_its_scale_up_limit_and_bounds(demand: list[float]) -> None:
    hpa = simulate(make_trace(demand), [HpaPolicy(MODEL, target_utilization=0.7)], MODEL)["hpa"]
    previous = max(MODEL.needed(d) for d in demand[: MODEL.startup_steps + 1])
    for replicas in hpa.decisions:
        assert MODEL.min_replicas <= replicas <= MODEL.max_replicas
        assert replicas <= max(2 * previous, previous + 4)
        previous = replicas


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=200), min_size=30, max_size=120))
def test_no_policy_beats_the_oracle_without_violating(demand: list[float]) -> None:
    report = simulate_all(make_trace(demand), MODEL)
    oracle = report.results["oracle"]
    for result in report.results.values():
        if result.violation_steps == 0:
            assert result.replica_hours >= oracle.replica_hours - 1e-9
