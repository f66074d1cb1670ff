"""Retention: each key keeps a bounded number of tasks (and characters of their requests).
Past the bound the key's oldest ended tasks are forgotten (their record is gone, as an
expired one's is); when none of them has ended, createTask is refused (429) rather than
memory given up. Usage is read from the store every CHECK_EVERY creates of a key (or for
every large body), so the bound holds with a little slack and costs nothing per create."""

from __future__ import annotations

from collections import Counter

from mock_server.errors import TASKS_FULL, ApiError
from mock_server.sim.clock import VirtualClock
from mock_server.sim.timelines import Timelines
from mock_server.store.base import TaskStore

CHECK_EVERY = 256
LARGE_BODY = 64 * 1024  # characters: a body this large is checked at once
DOWN_TO = 0.9  # forgetting makes room for the next tenth, not for one task at a time


class Retention:
    def __init__(self, *, store: TaskStore, clock: VirtualClock, timelines: Timelines, max_tasks: int,
                 max_bytes: int) -> None:
        self._store = store
        self._clock = clock
        self._timelines = timelines
        self._max_tasks = max_tasks
        self._max_bytes = max_bytes
        self._since_check: Counter[str] = Counter()

    def make_room(self, api_key: str, size: int) -> None:
        """Room for one more task of `size` characters, or a 429 naming the bound."""
        self._since_check[api_key] += 1
        if self._since_check[api_key] < CHECK_EVERY and size < LARGE_BODY:
            return
        self._since_check[api_key] = 0
        count, used = self._store.usage(api_key)
        if count < self._max_tasks and used + size <= self._max_bytes:
            return
        count, used = self._forget_oldest_ended(api_key, count, used + size)
        if count >= self._max_tasks or used > self._max_bytes:
            raise ApiError(429, TASKS_FULL.format(tasks=self._max_tasks, chars=self._max_bytes), http_status=429)

    def _forget_oldest_ended(self, api_key: str, count: int, used: int) -> tuple[int, int]:
        target_tasks, target_bytes = int(self._max_tasks * DOWN_TO), int(self._max_bytes * DOWN_TO)
        now, doomed = self._clock.now_ms(), []
        for task in self._store.tasks(api_key):  # oldest first
            if count <= target_tasks and used <= target_bytes:
                break
            end = self._timelines(task).end
            if end is not None and end.at_ms <= now:
                doomed.append(task.task_id)
                count, used = count - 1, used - len(task.param)
        if doomed:
            self._store.forget(doomed)
        return count, used
