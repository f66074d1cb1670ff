"""Another API's task as its own record and callbacks, from its mapping (contracts.apis): the
shared lifecycle's stage at an instant, shown as the mapping's step of that state, rendered
through the mapping's templates. Pure: (task, timeline, now) in, JSON-ready data out."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, NamedTuple

from contracts.apis import Api
from contracts.apis.records import context, result
from contracts.apis.templates import render
from contracts.family.outputs import FRAMES
from mock_server.sim.lifecycle import Outcome, Stage, Timeline
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens
from mock_server.urls import result_url

MARKET_FAILURE = (Outcome().fail_code, Outcome().fail_msg)  # a `fail` scenario given no code of its own


class Step(NamedTuple):
    stage: Stage
    position: int  # which of the state's steps
    at_ms: int  # when it began
    values: dict[str, Any]


def phase_at(api: Api, timeline: Timeline, now_ms: int) -> tuple[Any, ...]:
    """What a record at `now_ms` depends on: the stage, and the step when its state has several
    (cheaper than `step_at` on the polling path)."""
    stage = timeline.at(now_ms)
    if len(api.stages[stage.state]) == 1:
        return (stage,)
    return step_at(api, timeline, now_ms)[:2]


def steps_of(api: Api, timeline: Timeline) -> list[Step]:
    """Every step the timeline passes through, in order (a state shown in steps splits its
    time evenly; a state with no end yet shows its first step only)."""
    found: list[Step] = []
    for position, stage in enumerate(timeline.stages):
        steps = api.stages[stage.state]
        following = timeline.stages[position + 1].at_ms if position + 1 < len(timeline.stages) else None
        shown = steps if following is not None else steps[:1]
        for index, values in enumerate(shown):
            at = stage.at_ms if index == 0 or following is None else \
                stage.at_ms + (following - stage.at_ms) * index // len(steps)
            found.append(Step(stage, index, at, values))
    return found


def step_at(api: Api, timeline: Timeline, now_ms: int) -> Step:
    """The step shown at `now_ms`."""
    current: Step | None = None
    for step in steps_of(api, timeline):
        if current is not None and step.at_ms > now_ms:
            break
        current = step
    assert current is not None
    return current


class ApiRecords:
    def __init__(self, api: Api, tokens: Tokens) -> None:
        self.api = api
        self.tokens = tokens

    def record(self, task: Task, timeline: Timeline, now_ms: int) -> dict[str, Any]:
        return dict(render(self.api.record, self.context(task, step_at(self.api, timeline, now_ms))))

    def callbacks(self, task: Task, timeline: Timeline) -> list[tuple[int, dict[str, Any]]]:
        """The task's callbacks as its timeline plans them, (when, body), in order: one at each
        step naming a `callback` (Suno's stages), else one at the end."""
        steps = steps_of(self.api, timeline)
        chosen = [step for step in steps if "callback" in step.values] if self.api.staged_callbacks else steps[-1:]
        return [(step.at_ms, dict(render(self.api.callback, self.context(task, step)))) for step in chosen]

    def context(self, task: Task, step: Step) -> dict[str, Any]:
        state, output = step.stage.state, task.output
        ready = step.values.get("ready", output.count if state == "success" else 0)
        return context(step=step.values, state=state, task_id=task.task_id, model=task.model.partition(":")[2],
                       param=task.param, created_ms=task.created_ms, step_ms=step.at_ms, stage_ms=step.stage.at_ms,
                       failure=self._failure(task.outcome), credits=task.credits, resolution=output.resolution,
                       results=self.results(task, ready))

    def results(self, task: Task, ready: int) -> list[dict[str, Any]]:
        output, token = task.output, self.tokens.result(task.task_id)
        variants = [variant for variant in output.variants() if variant not in FRAMES]
        covers = [result_url(task.origin, token, task.task_id, "png", frame) for frame in FRAMES] \
            if self.api.covers else []
        return [result(result_url(task.origin, token, task.task_id, output.extension, variant),
                       cover=covers[index] if index < len(covers) else None, index=index,
                       result_id=str(uuid.UUID(bytes=hashlib.blake2b(f"{task.task_id}:{index}".encode(),
                                                                     digest_size=16).digest())),
                       seconds=output.seconds, ready=index < ready)
                for index, variant in enumerate(variants)]

    def _failure(self, outcome: Outcome) -> tuple[Any, str]:
        """The API's own failure code and text, unless the scenario named its own."""
        if (outcome.fail_code, outcome.fail_msg) == MARKET_FAILURE:
            return self.api.failure
        code = int(outcome.fail_code) if outcome.fail_code.isdigit() else outcome.fail_code
        return code, outcome.fail_msg
