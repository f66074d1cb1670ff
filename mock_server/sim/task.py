"""A task as it was acknowledged: the facts its whole life is derived from."""

from __future__ import annotations

from typing import NamedTuple

from mock_server.sim.lifecycle import Outcome


class Task(NamedTuple):
    """Immutable, hashable, and cheap to build on the createTask hot path (a frozen
    dataclass costs four times as much). States are derived from it and the clock."""

    task_id: str
    api_key: str
    model: str
    param: str  # the createTask body as sent, as a JSON string
    resolution: str
    duration: str
    callback_url: str | None
    created_ms: int
    origin: str  # base URL the task was created through: its result URLs point there
    credits: float
    outcome: Outcome
    output: str = "mp4"  # the result file's extension (mp4, png, jpeg, webp, wav): its model's output
