"""Timelines: legal, ordered, deterministic, within upstream's 40-120 s, terminal states final."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contracts.spec.document import operation
from contracts.spec.lifecycle import TERMINAL, TRANSITIONS
from mock_server.sim.lifecycle import PROGRESS, Outcome, plan_timeline

INPUT = operation("bytedance-v1-pro-fast-image-to-video").definition[
    "requestBody"]["content"]["application/json"]["schema"]["properties"]["input"]["properties"]
RESOLUTIONS = st.sampled_from(INPUT["resolution"]["enum"])
DURATIONS = st.sampled_from(INPUT["duration"]["enum"])
OUTCOMES = st.builds(
    Outcome, state=st.sampled_from(sorted(TERMINAL)), fail_stage=st.sampled_from(PROGRESS),
    slowdown=st.floats(0.1, 10), stuck_in=st.none() | st.sampled_from(PROGRESS))
TASKS = st.fixed_dictionaries({
    "task_id": st.text(min_size=1, max_size=30), "created_ms": st.integers(10**12, 2 * 10**12),
    "resolution": RESOLUTIONS, "duration": DURATIONS, "seed": st.integers(0, 2**32),
})


@given(TASKS, OUTCOMES)
def test_stages_follow_legal_transitions_in_time_order(task: dict, outcome: Outcome) -> None:
    timeline = plan_timeline(**task, outcome=outcome)
    states = [stage.state for stage in timeline.stages]
    assert states[0] == "waiting"
    for before, after in zip(timeline.stages, timeline.stages[1:], strict=False):
        assert after.state in TRANSITIONS[before.state]
        assert after.at_ms > before.at_ms
    fails_first = outcome.state == "fail" and (
        outcome.stuck_in is None or PROGRESS.index(outcome.fail_stage) < PROGRESS.index(outcome.stuck_in))
    if outcome.stuck_in is not None and not fails_first:
        assert states[-1] == outcome.stuck_in and timeline.end is None
    elif fails_first:
        assert states[-1] == "fail" and states[-2] == outcome.fail_stage
    else:
        assert states[-1] == "success"


@given(TASKS, OUTCOMES, st.integers(0, 10**7), st.integers(0, 10**7))
def test_state_never_goes_back_and_terminal_states_stay(task: dict, outcome: Outcome,
                                                        a: int, b: int) -> None:
    timeline = plan_timeline(**task, outcome=outcome)
    early, late = sorted((a, b))
    first = timeline.at(task["created_ms"] + early)
    second = timeline.at(task["created_ms"] + late)
    order = [stage.state for stage in timeline.stages]
    assert order.index(first.state) <= order.index(second.state)
    if first.state in TERMINAL:
        assert second == first


@given(TASKS)
def test_same_seed_same_timeline_and_seed_matters(task: dict) -> None:
    outcome = Outcome()
    assert plan_timeline(**task, outcome=outcome) == plan_timeline(**task, outcome=outcome)
    other_seed = {**task, "seed": task["seed"] + 1}
    assert plan_timeline(**other_seed, outcome=outcome) != plan_timeline(**task, outcome=outcome)


def test_different_seeds_jitter_the_timeline() -> None:
    ends = {plan_timeline(task_id="t", created_ms=10**12, resolution="720p", duration="5",
                          seed=seed, outcome=Outcome()).stages[-1].at_ms
            for seed in range(20)}
    assert len(ends) == 20


@given(TASKS)
def test_successful_tasks_take_40_to_120_seconds_at_speed_1(task: dict) -> None:
    timeline = plan_timeline(**task, outcome=Outcome())
    total = (timeline.stages[-1].at_ms - task["created_ms"]) / 1000
    assert 40 <= total <= 120  # upstream's reported range, jitter included
