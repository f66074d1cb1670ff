"""Timelines planned once per task: they are pure, so a polled task is never planned twice."""

from __future__ import annotations

from collections import OrderedDict

from mock_server.sim.lifecycle import Timeline, plan_timeline
from mock_server.sim.task import Task

CACHE_SIZE = 200_000


class Timelines:
    """`timelines(task)`: the task's timeline for the run's seed. Cached by task id and checked
    against the task it was planned for (a changed outcome plans anew); oldest out first."""

    def __init__(self, seed: int, size: int = CACHE_SIZE) -> None:
        self._seed = seed
        self._size = size
        self._entries: OrderedDict[str, tuple[Task, Timeline]] = OrderedDict()

    def __call__(self, task: Task) -> Timeline:
        cached = self._entries.get(task.task_id)
        if cached is not None and (cached[0] is task or cached[0] == task):
            return cached[1]
        timeline = plan_timeline(task_id=task.task_id, created_ms=task.created_ms,
                                 resolution=task.output.resolution, duration=task.output.duration,
                                 seed=self._seed, outcome=task.outcome)
        if len(self._entries) >= self._size:
            self._entries.popitem(last=False)  # O(1); deleting a dict's first key is not
        self._entries[task.task_id] = (task, timeline)
        return timeline

    def clear(self) -> None:
        self._entries.clear()
