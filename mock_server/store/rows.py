"""A task as one row of plain values, as SQLite and Redis keep it: the columns of `COLUMNS`,
its outcome and output as JSON. Rows written before outputs were kept (an extension where the
output is) read back as that extension's video, image or audio of the stored resolution."""

from __future__ import annotations

from typing import Any

import orjson

from contracts.family.outputs import OutputSpec
from contracts.family.sizes import short_side_frame
from mock_server.sim.lifecycle import Outcome
from mock_server.sim.task import Task

COLUMNS = ("task_id", "api_key", "model", "param", "resolution", "duration", "callback_url", "created_ms", "origin",
           "credits", "outcome", "output")
OUTCOME = COLUMNS.index("outcome")
LEGACY_KINDS = {"mp4": "video", "wav": "audio"}


def task_row(task: Task) -> tuple[Any, ...]:
    return (task.task_id, task.api_key, task.model, task.param, task.output.resolution, task.output.duration,
            task.callback_url, task.created_ms, task.origin, task.credits, orjson.dumps(task.outcome).decode(),
            task.output.encode())


def row_task(row: tuple[Any, ...] | list[Any]) -> Task:
    (task_id, api_key, model, param, resolution, duration, callback_url, created_ms, origin, credits, outcome,
     output) = row
    return Task(task_id, api_key, model, param, callback_url, created_ms, origin, credits,
                Outcome(**orjson.loads(outcome)), _output(output, resolution, duration))


def _output(stored: str, resolution: str, duration: str) -> OutputSpec:
    if stored.startswith("["):
        return OutputSpec.decode(stored)
    kind = LEGACY_KINDS.get(stored, "image")
    if kind == "audio":
        return OutputSpec(kind, stored, 0, 0, int(duration))
    width, height = short_side_frame(int(resolution.rstrip("p")), 16 / 9)
    return OutputSpec(kind, stored, width, height, int(duration) if kind == "video" else 0)
