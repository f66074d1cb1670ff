"""Tasks: createTask and Get Task Details, and steering a task from the control API.

A task is stored once, as acknowledged; its state at any instant is derived from its
timeline and the clock, so reading never changes it and terminal states never change.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson

from contracts.family.catalogue import ModelCatalogue
from contracts.family.outputs import Outputs, OutputSpec
from contracts.family.pages import ModelPage
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.names import CREATE_TASK
from mock_server.errors import RECORD_NOT_FOUND, REPLAY_UNMATCHED, TASK_ENDED, ApiError
from mock_server.services.accounts import Accounts
from mock_server.services.admission import Admission
from mock_server.services.replay import ReplayBook, body_key
from mock_server.services.retention import Retention
from mock_server.services.settlement import Settlement
from mock_server.sim.api_records import ApiRecords
from mock_server.sim.clock import VirtualClock
from mock_server.sim.ids import task_id
from mock_server.sim.lifecycle import Outcome, earliest_end_ms
from mock_server.sim.records import task_record
from mock_server.sim.rendered import RenderedRecords
from mock_server.sim.scenarios import forced
from mock_server.sim.task import Task
from mock_server.sim.timelines import Timelines
from mock_server.sim.tokens import Tokens
from mock_server.store.base import TaskStore

GC_FREEZE_EVERY = 1000
COVER_PIXELS = 512  # a result's cover image (Suno's tracks): square


@functools.lru_cache(maxsize=1024)
def with_covers(output: OutputSpec) -> OutputSpec:
    """Each result's cover image, kept as a video's still frames are (an audio's: square)."""
    if output.kind == "video":
        return dataclasses.replace(output, frames=True)
    return dataclasses.replace(output, frames=True, width=COVER_PIXELS, height=COVER_PIXELS)


class Opening(NamedTuple):
    """What a create opens: the model (as a page), the input that shapes what it makes, the
    body as admission reads it (`model`, `input`, `callBackUrl`), the operation, its ids."""

    page: ModelPage
    given: Mapping[str, Any]
    admitted: Mapping[str, Any]
    operation_id: str
    namer: Callable[[int], str]
    covers: bool = False


class TaskService:
    def __init__(self, *, store: TaskStore, clock: VirtualClock, timelines: Timelines, accounts: Accounts,
                 admission: Admission, settlement: Settlement, catalogue: ModelCatalogue, tokens: Tokens,
                 retention: Retention,
                 record_ttl_seconds: float, replay: ReplayBook | None = None,
                 api_records: Mapping[str, ApiRecords] | None = None) -> None:
        self._store = store
        self._clock = clock
        self.timeline = timelines
        self._accounts = accounts
        self._admission = admission
        self._settlement = settlement
        self.catalogue = catalogue
        self._outputs = Outputs()
        self._tokens = tokens
        self._retention = retention
        self._rendered = RenderedRecords(tokens)
        self._record_ttl_ms = record_ttl_seconds * 1000
        self._replay = replay
        self._created = 0
        self.api_records = dict(api_records or {})  # the other APIs', by name

    def create_task(self, api_key: str, body: dict[str, Any], *, origin: str,
                    outcome: Outcome | None = None, opening: Opening | None = None) -> dict[str, Any]:
        """Price the task, admit it, make room for it, then charge and store it in one step
        (a replayed recording that has this body answers its recorded task instead). A market
        createTask is read from its body; another API's create says what it opens (`opening`)."""
        if opening is None:
            if self._replay is not None:
                if (recorded := self._replay.task_for(body)) is not None:
                    return {"taskId": recorded}
                if self._replay.strict:
                    raise ApiError(500, REPLAY_UNMATCHED.format(request=f"createTask of {body_key(body)}"[:300]))
            page = self.catalogue.page(body["model"])
            opening = Opening(page, body.get("input", {}), body, CREATE_TASK, self._namer(page.vendor))
        page = opening.page
        output = self._outputs(page, opening.given)
        if opening.covers:
            output = with_covers(output)
        cost = self._accounts.price(output, page_credits=page.credits)
        self._settlement.settle()  # refunds due by now count towards the balance
        outcome = self._admission.admit_task(api_key, opening.admitted, output, cost=cost, asked=outcome,
                                             operation_id=opening.operation_id)
        now = self._clock.now_ms()
        param = orjson.dumps(body).decode()
        self._retention.make_room(api_key, len(param))
        draft = Task("", api_key, page.model_id, param, opening.admitted.get("callBackUrl") or None, now, origin,
                     cost, outcome, output)
        task = self._accounts.open_task(draft, end_ms=self._watch_from(draft), name=opening.namer)
        self._created += 1
        if self._created % GC_FREEZE_EVERY == 0:
            # Stored tasks live until reset; freezing them keeps full GC passes (and the p99
            # latency they cause) from growing with the store.
            gc.freeze()
        return {"taskId": task.task_id}

    @functools.cache  # noqa: B019 -- one per vendor, for the service's life
    def _namer(self, vendor: str) -> Callable[[int], str]:
        return functools.partial(task_id, vendor=vendor)

    @staticmethod
    def _watch_from(task: Task) -> int | None:
        """When settlement should first look at the task: never, when its end has nothing to do."""
        return earliest_end_ms(task.created_ms, task.outcome) if task.needs_settling else None

    def get_task_details(self, api_key: str, task_id: str, origin: str = "") -> dict[str, Any] | orjson.Fragment:
        if self._replay is not None:
            if (recorded := self._replay.record(task_id, origin)) is not None:
                return recorded
            if self._replay.strict:
                raise ApiError(500, REPLAY_UNMATCHED.format(request=f"recordInfo of task {task_id[:100]}"))
        task = self.visible_task(api_key, task_id)
        if task.api is not None:  # another API's task: not the market's to answer
            raise ApiError(422, RECORD_NOT_FOUND)
        return self._rendered(task, self.timeline(task), self._clock.now_ms())

    def visible_task(self, api_key: str, task_id: str, not_found: str = RECORD_NOT_FOUND) -> Task:
        """The key's task, once visible (a `not-yet-visible` task is not, for a while, as
        upstream's right after creation); else `not_found`, the API's own text."""
        try:
            task = self.owned_task(api_key, task_id)
        except ApiError as exc:
            raise ApiError(422, not_found) from exc
        if task.outcome.hidden_s and self._clock.now_ms() < task.created_ms + task.outcome.hidden_s * 1000:
            raise ApiError(422, not_found)
        return task

    def owned_task(self, api_key: str | None, task_id: str) -> Task:
        """The task, if it exists for this key (any key when None) and its record has not
        expired (record_ttl_seconds): else recordInfo is null."""
        task = self._store.get(task_id)
        if task is None or (api_key is not None and task.api_key != api_key):
            raise ApiError(422, RECORD_NOT_FOUND)
        if self._clock.now_ms() > task.created_ms + self._record_ttl_ms:
            raise ApiError(422, RECORD_NOT_FOUND)
        return task

    def find(self, task_id: str) -> Task | None:
        """The stored task, whoever owns it, expired or not."""
        return self._store.get(task_id)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        return self._store.tasks(api_key)

    def count(self) -> int:
        return self._store.count()

    def is_settled(self, task: Task) -> bool:
        """Its end applied: by settlement, or (a task whose end has nothing to do) by the clock."""
        if task.needs_settling:
            return self._store.is_settled(task.task_id)
        end = self.timeline(task).end
        return end is not None and end.at_ms <= self._clock.now_ms()

    def forget_caches(self) -> None:
        """Drop what was worked out from requests and tasks (a reset): outputs per request
        shape, planned timelines, rendered records."""
        self._outputs.clear()
        self.timeline.clear()
        self._rendered.clear()

    def record(self, task: Task) -> dict[str, Any]:
        """The task's record now, as its API's status endpoint would answer it."""
        if task.api is not None:
            return self.api_records[task.api].record(task, self.timeline(task), self._clock.now_ms())
        return task_record(task, self.timeline(task), self._clock.now_ms(), self._tokens)

    def set_outcome(self, task_id: str, outcome: Outcome) -> Task:
        task = self.owned_task(None, task_id)
        if self.timeline(task).at(self._clock.now_ms()).state in TERMINAL:
            raise ApiError(422, TASK_ENDED.format(task_id=task_id))
        changed = task._replace(outcome=outcome)
        self._store.update(changed, end_ms=self._watch_from(changed))
        self._settlement.settle()
        return changed

    def force_state(self, task_id: str, state: str) -> Task:
        task = self.owned_task(None, task_id)
        return self.set_outcome(task_id, forced(task.outcome, state, self._clock.now_ms()))

    def redeliver(self, task_id: str) -> None:
        self._settlement.redeliver(self.owned_task(None, task_id))
