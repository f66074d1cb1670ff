"""Get Task Details answers rendered once per task and stage: a record stays the same for as
long as its task stays in one stage (a later stage, or a changed outcome, renders anew), and
polling clients ask for the same record many times over. Pure: a bounded cache, no I/O."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import orjson

from mock_server.sim.api_records import ApiRecords, phase_at
from mock_server.sim.lifecycle import Timeline
from mock_server.sim.records import task_record
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens

CACHE_SIZE = 10_000  # tasks: the ones being polled now are recent
MAX_RECORD_BYTES = 16 * 1024  # a record with a long prompt is rendered each time, not kept


class RenderedRecords:
    def __init__(self, tokens: Tokens, size: int = CACHE_SIZE, *, api: ApiRecords | None = None) -> None:
        """`api`: another API's records (kept per step of a stage, as that API shows it)."""
        self._tokens = tokens
        self._size = size
        self._api = api
        self._entries: OrderedDict[str, tuple[Task, Hashable, orjson.Fragment]] = OrderedDict()

    def __call__(self, task: Task, timeline: Timeline, now_ms: int) -> orjson.Fragment:
        """The task's record at `now_ms`, as a JSON fragment the renderer embeds as it is."""
        api = self._api
        phase: Hashable = timeline.at(now_ms) if api is None else phase_at(api.api, timeline, now_ms)
        cached = self._entries.get(task.task_id)
        if cached is not None and cached[1] == phase and (cached[0] is task or cached[0] == task):
            return cached[2]
        rendered = orjson.dumps(task_record(task, timeline, now_ms, self._tokens) if api is None
                                else api.record(task, timeline, now_ms))
        fragment = orjson.Fragment(rendered)
        if len(rendered) <= MAX_RECORD_BYTES:
            if len(self._entries) >= self._size:
                self._entries.popitem(last=False)
            self._entries[task.task_id] = (task, phase, fragment)
        return fragment

    def clear(self) -> None:
        self._entries.clear()
