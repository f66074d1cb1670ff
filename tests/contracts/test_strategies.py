"""The public strategies produce what the spec (and upstream) say."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings

from contracts import strategies
from contracts.spec.document import schema
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.validators import RequestInvalid, compile_schema, request_validators

FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
RECORD = compile_schema(schema("TaskRecord"))
CALLBACK = compile_schema(schema("CallbackPayload"))
CREATE = request_validators()["bytedance-v1-pro-fast-image-to-video"]


@FAST
@given(strategies.create_task_bodies())
def test_valid_bodies_are_accepted(body: Any) -> None:
    CREATE.check_body(body)


@FAST
@given(strategies.create_task_bodies(valid=False))
def test_invalid_bodies_are_rejected(body: Any) -> None:
    try:
        CREATE.check_body(body)
    except RequestInvalid:
        return
    raise AssertionError(f"accepted: {body!r}")


@FAST
@given(strategies.task_records())
def test_records_conform_and_are_consistent(record: dict) -> None:
    RECORD.check(record)
    CREATE.check_body(json.loads(record["param"]))
    assert (record["resultJson"] is not None) == (record["state"] == "success")
    assert (record["failCode"] is not None) == (record["state"] == "fail")
    assert (record["completeTime"] is not None) == (record["state"] in TERMINAL)
    assert record["createTime"] <= record["updateTime"]


@FAST
@given(strategies.callback_payloads())
def test_callback_payloads_conform(payload: dict) -> None:
    CALLBACK.check(payload)
    assert payload["code"] == (200 if payload["data"]["state"] == "success" else 501)


def test_a_chosen_state_is_kept() -> None:
    @FAST
    @given(strategies.task_records(state="queuing"))
    def check(record: dict) -> None:
        assert record["state"] == "queuing" and record["completeTime"] is None

    check()
