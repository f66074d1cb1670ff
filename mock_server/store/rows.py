"""A task as one row of plain values (its outcome as JSON), as SQLite and Redis keep it."""

from __future__ import annotations

from typing import Any

import orjson

from mock_server.sim.lifecycle import Outcome
from mock_server.sim.task import Task

OUTCOME = Task._fields.index("outcome")


def task_row(task: Task) -> tuple[Any, ...]:
    return (*task[:OUTCOME], orjson.dumps(task.outcome).decode(), *task[OUTCOME + 1:])


def row_task(row: tuple[Any, ...] | list[Any]) -> Task:
    return Task._make((*row[:OUTCOME], Outcome(**orjson.loads(row[OUTCOME])), *row[OUTCOME + 1:]))
