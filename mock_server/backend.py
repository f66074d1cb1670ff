"""The rules of the API, one method per operation, raising `ApiError`s.

HTTP and storage are adapters around it: handlers parse, call one method here, and render.
Requests reaching it have passed the spec's validation already.
"""

from __future__ import annotations

import functools
import gc
from typing import Any

import orjson

from contracts.spec import operation
from mock_server.clock import VirtualClock
from mock_server.errors import INSUFFICIENT_CREDITS, RECORD_NOT_FOUND, ApiError
from mock_server.ids import TaskIdGenerator
from mock_server.lifecycle import Outcome, Timeline, plan_timeline
from mock_server.records import task_record
from mock_server.settings import Settings
from mock_server.store import Task, TaskStore

CREATE_TASK = "bytedance-v1-pro-fast-image-to-video"
GC_FREEZE_EVERY = 1000


def input_defaults() -> dict[str, Any]:
    """createTask's `input` defaults (resolution, duration), read from the spec."""
    body = operation(CREATE_TASK).definition["requestBody"]["content"]["application/json"]
    properties = body["schema"]["properties"]["input"]["properties"]
    return {name: field["default"] for name, field in properties.items() if "default" in field}


@functools.lru_cache(maxsize=65_536)
def _planned(task: Task, seed: int) -> Timeline:
    """Timelines are pure, so polling a task plans it once (tasks are frozen and hashable)."""
    return plan_timeline(task_id=task.task_id, created_ms=task.created_ms,
                         resolution=task.resolution, duration=task.duration, seed=seed,
                         outcome=task.outcome)


class Backend:
    def __init__(self, settings: Settings, *, clock: VirtualClock, store: TaskStore) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self._ids = TaskIdGenerator(clock.now_ms, last_issued=store.last_id_number())
        self._defaults = input_defaults()
        self._created = 0

    def price(self, resolution: str, duration: str) -> float:
        return self.settings.prices[f"{resolution}/{duration}"]

    def balance(self, api_key: str) -> float:
        stored = self.store.balance(api_key)
        return self.settings.initial_balance if stored is None else stored

    def timeline(self, task: Task) -> Timeline:
        return _planned(task, self.settings.seed)

    def create_task(self, api_key: str, body: dict[str, Any], *, origin: str) -> dict[str, Any]:
        given = body.get("input", {})
        resolution = given.get("resolution", self._defaults["resolution"])
        duration = given.get("duration", self._defaults["duration"])
        cost = self.price(resolution, duration)
        balance = self.balance(api_key)
        if cost > balance:
            raise ApiError(402, INSUFFICIENT_CREDITS.format(cost=cost, balance=balance))
        task = Task(task_id=self._ids.next_id(), api_key=api_key, model=body["model"],
                    param=orjson.dumps(body).decode(), resolution=resolution,
                    duration=duration, callback_url=body.get("callBackUrl"),
                    created_ms=self.clock.now_ms(), origin=origin, credits=cost,
                    outcome=Outcome())
        self.store.add(task)
        self.store.set_balance(api_key, balance - cost)
        self._created += 1
        if self._created % GC_FREEZE_EVERY == 0:
            # Stored tasks live until reset; freezing them keeps full GC passes (and the p99
            # latency they cause) from growing with the store.
            gc.freeze()
        return {"taskId": task.task_id}

    def get_task_details(self, api_key: str, task_id: str) -> dict[str, Any]:
        task = self.store.get(task_id)
        if task is None or task.api_key != api_key:  # another key's task does not exist for you
            raise ApiError(422, RECORD_NOT_FOUND)
        return task_record(task, self.timeline(task), self.clock.now_ms())

    def get_account_credits(self, api_key: str) -> float:
        return self.balance(api_key)
