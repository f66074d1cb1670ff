"""A task as the spec's TaskRecord at a given instant: what Get Task Details returns.

Pure: (task, timeline, now) in, a JSON-ready dict out. `param` and `resultJson` are JSON
strings, times Unix ms, `costTime` whole seconds, as the real service answers.
"""

from __future__ import annotations

from typing import Any

import orjson

from contracts.family.outputs import FRAMES
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.names import callback_envelope
from mock_server.sim.lifecycle import Timeline
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens
from mock_server.urls import result_url


def result_urls(task: Task, tokens: Tokens) -> list[str]:
    token, output = tokens.result(task.task_id), task.output
    return [result_url(task.origin, token, task.task_id, output.extension, variant)
            for variant in output.variants() if variant not in FRAMES]


def result_json(task: Task, tokens: Tokens) -> str:
    """A success's `resultJson`: its files' URLs (and a video's first and last frames, when
    asked for), or for a text model its `resultObject`."""
    if not task.output.files:
        return orjson.dumps({"resultObject": {"model": task.model, "taskId": task.task_id,
                                              "text": f"apikley-mock result of {task.model}"}}).decode()
    result: dict[str, Any] = {"resultUrls": result_urls(task, tokens)}
    if task.output.frames:
        token = tokens.result(task.task_id)
        result["firstFrameUrl"], result["lastFrameUrl"] = (
            [result_url(task.origin, token, task.task_id, "png", frame)] for frame in FRAMES)
    return orjson.dumps(result).decode()


def task_record(task: Task, timeline: Timeline, now_ms: int, tokens: Tokens) -> dict[str, Any]:
    stage = timeline.at(now_ms)
    ended = stage.state in TERMINAL
    failed = stage.state == "fail"
    started_ms = timeline.stages[1].at_ms if len(timeline.stages) > 1 else task.created_ms
    record = {
        "taskId": task.task_id,
        "model": task.model,
        "state": stage.state,
        "param": task.param,
        "resultJson": result_json(task, tokens) if stage.state == "success" else None,
        "failCode": task.outcome.fail_code if failed else None,
        "failMsg": task.outcome.fail_msg if failed else None,
        # Seconds of processing after the task left `waiting`, as real records show.
        "costTime": max(0, (stage.at_ms - started_ms) // 1000) if ended else None,
        "createTime": task.created_ms,
        "updateTime": stage.at_ms,
        "completeTime": stage.at_ms if ended else None,
        "creditsConsumed": 0 if failed else task.credits,
    }
    if task.outcome.seeded:  # a seeded task answers the fields it was given (POST /__mock__/tasks)
        record.update(orjson.loads(task.outcome.seeded))
    return record


def callback_payload(task: Task, timeline: Timeline, tokens: Tokens, *, remained_credits: float) -> dict[str, Any]:
    """The callback body for an ended task: a Get Task Details answer plus credit fields."""
    end = timeline.end
    if end is None:
        raise ValueError(f"task {task.task_id} has not ended")
    record = task_record(task, timeline, end.at_ms, tokens)
    record["consumeCredits"] = task.credits if end.state == "success" else 0
    record["remainedCredits"] = remained_credits
    code, msg = callback_envelope(end.state)
    return {"code": code, "msg": msg, "data": record}
