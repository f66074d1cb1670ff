"""Task lifecycles as data, and a task's timeline as a pure function of (task, seed).

A timeline lists when each state begins; the state at any instant is the last stage that
has begun, so reading a task never changes it and a terminal state never changes. No I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from contracts.spec.lifecycle import TERMINAL, TRANSITIONS

# Which state may follow which is the contract's (names from the spec's TaskState enum).
PROGRESS = tuple(state for state in TRANSITIONS if TRANSITIONS[state])
FOLLOWING = {state: TRANSITIONS[state][0] for state in PROGRESS}  # the next state on success

# Virtual seconds at speed 1: fixed waiting and queuing, generation growing with the video.
WAITING_SECONDS = 2.0
QUEUING_SECONDS = 6.0
# Chosen so that, jitter included, the seed model's tasks take 40-120 s as upstream's reportedly do.
GENERATING_BASE_SECONDS = 28.5
GENERATING_PER_VIDEO_SECOND = 2.8
JITTER = 0.2  # each stage lasts within +-20% of its nominal time


CALLBACK_MODES = ("normal", "duplicate", "delay", "drop")


@dataclass(frozen=True)
class Outcome:
    """How a task ends: success, or fail at a stage; optionally slowed, stuck in a state, or
    forced into a state at an instant; and how its callback is delivered."""

    state: str = "success"
    fail_stage: str = "generating"
    fail_code: str = "500"
    fail_msg: str = "Internal server error"
    slowdown: float = 1.0
    stuck_in: str | None = None
    forced_state: str | None = None
    forced_at_ms: int | None = None
    callback: str = "normal"
    callback_delay_s: float = 0.0
    hidden_s: float = 0.0  # virtual seconds after creation during which its record answers "recordInfo is null"
    seeded: str | None = None  # a seeded task's record fields (JSON), answered as they were given

    def __post_init__(self) -> None:
        if self.state not in TERMINAL:
            raise ValueError(f"outcome state must be one of {sorted(TERMINAL)}")
        for stage in (self.fail_stage, self.stuck_in):
            if stage is not None and stage not in PROGRESS:
                raise ValueError(f"{stage!r} is not one of {list(PROGRESS)}")
        if self.slowdown <= 0:
            raise ValueError("slowdown must be positive")
        if self.callback not in CALLBACK_MODES:
            raise ValueError(f"callback must be one of {list(CALLBACK_MODES)}")
        if self.callback_delay_s < 0:
            raise ValueError("callback delay must be >= 0")
        if (self.forced_state is None) != (self.forced_at_ms is None):
            raise ValueError("a forced state needs its instant, and the other way round")

    @property
    def may_fail(self) -> bool:
        """Whether the task can end in `fail` (and so be refunded)."""
        return self.state == "fail" or self.forced_state == "fail"


class Stage(NamedTuple):
    state: str
    at_ms: int


@dataclass(frozen=True)
class Timeline:
    stages: tuple[Stage, ...]

    def at(self, now_ms: int) -> Stage:
        """The stage in force at `now_ms` (the first one before the task began)."""
        current = self.stages[0]
        for stage in self.stages[1:]:
            if stage.at_ms > now_ms:
                break
            current = stage
        return current

    @property
    def end(self) -> Stage | None:
        last = self.stages[-1]
        return last if last.state in TERMINAL else None


def nominal_seconds(state: str, resolution: str, duration: str) -> float:
    """How long a stage takes at speed 1 for a `720p`/`1080p`, `"5"`/`"10"` task."""
    if state == "waiting":
        return WAITING_SECONDS
    if state == "queuing":
        return QUEUING_SECONDS
    lines = int(resolution.rstrip("p"))
    seconds = GENERATING_BASE_SECONDS + GENERATING_PER_VIDEO_SECOND * float(duration)
    scale: float = max(1.0, lines / 720) ** 1.2
    return seconds * scale


def _jitters(seed: int, task_id: str) -> list[float]:
    """One factor in [1 - JITTER, 1 + JITTER) per stage, from a hash of (seed, task): as
    deterministic as a seeded random.Random and ten times cheaper to derive per task."""
    digest = hashlib.blake2b(f"{seed}:{task_id}".encode(), digest_size=8 * len(PROGRESS)).digest()
    fractions = [int.from_bytes(digest[i:i + 8], "big") / 2**64 for i in range(0, len(digest), 8)]
    return [1 - JITTER + 2 * JITTER * fraction for fraction in fractions]


def plan_timeline(*, task_id: str, created_ms: int, resolution: str, duration: str,
                  seed: int, outcome: Outcome) -> Timeline:
    """Deterministic from its arguments: the same seed and task give the same timeline."""
    jitters = _jitters(seed, task_id)
    stages = [Stage("waiting", created_ms)]
    at = created_ms
    for index, state in enumerate(PROGRESS):
        if outcome.stuck_in == state:
            break
        at += round(nominal_seconds(state, resolution, duration) * outcome.slowdown
                    * jitters[index] * 1000)
        if outcome.state == "fail" and outcome.fail_stage == state:
            stages.append(Stage("fail", at))
            break
        stages.append(Stage(FOLLOWING[state], at))
    if outcome.forced_state is not None and outcome.forced_at_ms is not None:
        return _force(stages, outcome.forced_state, outcome.forced_at_ms)
    return Timeline(tuple(stages))


def earliest_end_ms(created_ms: int, outcome: Outcome) -> int:
    """No task can end before its waiting stage could: a bound found without planning."""
    if outcome.forced_at_ms is not None:
        return min(created_ms, outcome.forced_at_ms)
    return created_ms + int(WAITING_SECONDS * outcome.slowdown * (1 - JITTER) * 1000)


def _force(stages: list[Stage], state: str, at_ms: int) -> Timeline:
    """Keep what had happened by `at_ms`, then walk on to `state` at that instant (states in
    between take no time) and stay there."""
    kept = [stage for stage in stages if stage.at_ms <= at_ms] or stages[:1]
    if kept[-1].state in TERMINAL:
        return Timeline(tuple(kept))  # terminal states never change
    order = [*PROGRESS, "success"]
    if state == "fail":
        return Timeline((*kept, Stage("fail", at_ms)))
    start = order.index(kept[-1].state)
    target = order.index(state)
    walked = [Stage(name, at_ms) for name in order[start + 1:target + 1]]
    return Timeline((*kept, *walked))
