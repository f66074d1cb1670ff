"""The family's other APIs, served by one engine from their mappings (contracts.apis): each
API's creates open tasks through the same task service as createTask (prices, admission,
credits, retention, ids from the store), its status operation answers the task's record as
that API shows it, and its side operations answer from a successful task. A task of one API
is "not found" to every other."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from contracts.apis import Api
from contracts.apis.templates import render
from mock_server.errors import ApiError
from mock_server.services.tasks import Opening, TaskService
from mock_server.sim.api_records import step_at
from mock_server.sim.clock import VirtualClock
from mock_server.sim.ids import styled_id
from mock_server.sim.lifecycle import Outcome
from mock_server.sim.rendered import RenderedRecords
from mock_server.sim.task import Task


class ApiService:
    def __init__(self, apis: Mapping[str, Api], *, tasks: TaskService, clock: VirtualClock) -> None:
        self.apis = dict(apis)
        self._tasks = tasks
        self._clock = clock
        self.records = tasks.api_records
        self._rendered = {name: RenderedRecords(records.tokens, api=records) for name, records in self.records.items()}

    def create(self, api: Api, operation_id: str, api_key: str, body: dict[str, Any], *, origin: str,
               outcome: Outcome | None) -> dict[str, Any]:
        model = api.model_of(body)
        if api.extends is not None and operation_id == api.extends[0]:  # continues a successful task
            source = self.successful(api, api_key, str(body.get(api.extends[1], "")))
            model = source.model.partition(":")[2]
        page = api.page(model)
        admitted = {"model": page.model_id, "input": body, "callBackUrl": body.get("callBackUrl")}
        opening = Opening(page, api.shaped_input(body), admitted, operation_id, self._namer(api), api.covers)
        return self._tasks.create_task(api_key, body, origin=origin, outcome=outcome, opening=opening)

    def status(self, api: Api, api_key: str, task_id: str) -> orjson.Fragment:
        task = self.task(api, api_key, task_id)
        return self._rendered[api.name](task, self._tasks.timeline(task), self._clock.now_ms())

    def side(self, api: Api, operation_id: str, api_key: str, values: Mapping[str, Any]) -> Any:
        """A side operation's `data`: from the successful task its field names."""
        side = api.sides[operation_id]
        task = self.successful(api, api_key, str(values.get(side.task_field, "")))
        records = self.records[api.name]
        step = step_at(api, self._tasks.timeline(task), self._clock.now_ms())
        return render(side.data, records.context(task, step))

    def task(self, api: Api, api_key: str, task_id: str) -> Task:
        """The key's task of this API, or that API's own "not found"."""
        task = self._tasks.visible_task(api_key, task_id, api.not_found)
        if task.api != api.name:
            raise ApiError(422, api.not_found)
        return task

    def successful(self, api: Api, api_key: str, task_id: str) -> Task:
        task = self.task(api, api_key, task_id)
        if self._tasks.timeline(task).at(self._clock.now_ms()).state != "success":
            raise ApiError(422, api.not_ready)
        return task

    def forget_caches(self) -> None:
        for rendered in self._rendered.values():
            rendered.clear()

    @functools.cache  # noqa: B019 -- one per API, for the service's life
    def _namer(self, api: Api) -> Callable[[int], str]:
        return functools.partial(styled_id, api=api.name, prefix=api.id_prefix, style=api.id_style)
