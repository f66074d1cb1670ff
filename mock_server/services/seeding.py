"""Seeded tasks (`POST /__mock__/tasks`): a test starts from a task in the state it needs,
without driving one there. The body is a createTask body (validated by its model's page); the
record's fields are answered as given, and the whole record must be one the spec's TaskRecord
allows. A seeded task is stored like any other (its results served, its callback sent once
it has ended), charges nothing, and stays in its state."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import orjson

from contracts.family.catalogue import ModelCatalogue
from contracts.family.outputs import output_for
from contracts.spec.document import schema
from contracts.spec.lifecycle import TRANSITIONS
from contracts.spec.validators import CompiledSchema, RequestInvalid, compile_schema
from mock_server.errors import ApiError
from mock_server.services.accounts import Accounts
from mock_server.sim.clock import VirtualClock
from mock_server.sim.ids import task_id
from mock_server.sim.lifecycle import Outcome, plan_timeline
from mock_server.sim.records import task_record
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens

SETTABLE = ("resultJson", "failCode", "failMsg", "costTime", "createTime", "updateTime", "completeTime",
            "creditsConsumed")


@functools.cache
def _record_schema() -> CompiledSchema:
    return compile_schema(schema("TaskRecord"))


class Seeding:
    def __init__(self, *, catalogue: ModelCatalogue, accounts: Accounts, clock: VirtualClock, tokens: Tokens) -> None:
        self._catalogue = catalogue
        self._accounts = accounts
        self._clock = clock
        self._tokens = tokens
        self._validator = catalogue.create_task_validator()

    def seed_task(self, api_key: str, body: Any, record: Any, *, origin: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(422, "body: a createTask body (an object) is required")
        if not isinstance(record, Mapping):
            raise ApiError(422, "record: must be an object of the record's fields")
        try:
            self._validator.check_body(body)
        except RequestInvalid as exc:
            raise ApiError(422, f"body.{exc}") from exc
        state = record.get("state", "success")
        if state not in TRANSITIONS:
            raise ApiError(422, f"record.state: {state!r} is not one of {list(TRANSITIONS)}")
        unknown = sorted(set(record) - {"state", *SETTABLE})
        if unknown:
            raise ApiError(422, f"record.{unknown[0]}: not a field a seeded record sets; it sets state and "
                                f"{', '.join(SETTABLE)}")
        now = self._clock.now_ms()
        fields = {key: value for key, value in record.items() if key != "state"}
        outcome = Outcome(state="fail" if state == "fail" else "success", forced_state=state, forced_at_ms=now,
                          seeded=orjson.dumps(fields).decode() if fields else None)
        page = self._catalogue.page(body["model"])
        output = output_for(page, body.get("input", {}))
        draft = Task("task_seeded", api_key, body["model"], orjson.dumps(body).decode(),
                     body.get("callBackUrl") or None, now, origin, 0.0, outcome, output)
        timeline = plan_timeline(task_id=draft.task_id, created_ms=now, resolution=draft.output.resolution,
                                 duration=draft.output.duration, seed=0, outcome=outcome)
        try:
            _record_schema().check(task_record(draft, timeline, now, self._tokens), "record")
        except RequestInvalid as exc:
            raise ApiError(422, f"record.{exc}") from exc
        name = functools.partial(task_id, vendor=page.vendor)
        stored = self._accounts.open_task(draft, end_ms=now if draft.needs_settling else None, name=name)
        return {"taskId": stored.task_id}
