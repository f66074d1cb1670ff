"""Get Task Details answers rendered once per task and stage: a record stays the same for as
long as its task stays in one stage (a later stage, or a changed outcome, renders anew), and
polling clients ask for the same record many times over. Pure: a bounded cache, no I/O."""

from __future__ import annotations

from collections import OrderedDict

import orjson

from mock_server.sim.lifecycle import Stage, Timeline
from mock_server.sim.records import task_record
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens

CACHE_SIZE = 10_000  # tasks: the ones being polled now are recent
MAX_RECORD_BYTES = 16 * 1024  # a record with a long prompt is rendered each time, not kept


class RenderedRecords:
    def __init__(self, tokens: Tokens, size: int = CACHE_SIZE) -> None:
        self._tokens = tokens
        self._size = size
        self._entries: OrderedDict[str, tuple[Task, Stage, orjson.Fragment]] = OrderedDict()

    def __call__(self, task: Task, timeline: Timeline, now_ms: int) -> orjson.Fragment:
        """The task's record at `now_ms`, as a JSON fragment the renderer embeds as it is."""
        stage = timeline.at(now_ms)
        cached = self._entries.get(task.task_id)
        if cached is not None and cached[1] == stage and (cached[0] is task or cached[0] == task):
            return cached[2]
        rendered = orjson.dumps(task_record(task, timeline, now_ms, self._tokens))
        fragment = orjson.Fragment(rendered)
        if len(rendered) <= MAX_RECORD_BYTES:
            if len(self._entries) >= self._size:
                self._entries.popitem(last=False)
            self._entries[task.task_id] = (task, stage, fragment)
        return fragment

    def clear(self) -> None:
        self._entries.clear()
