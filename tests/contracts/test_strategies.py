"""The public strategies produce what the spec (and upstream) say."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from contracts import strategies
from contracts.apis import bundled_apis
from contracts.checks.api_records import callback_schema, shown
from contracts.spec.document import schema
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.validators import RequestInvalid, compile_operation, compile_schema, request_validators

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


def status_data_schema(api: Any) -> Any:
    """The status operation's `data` schema, as the API's spec declares it."""
    answer = api.status.response(200)["content"]["application/json"]["schema"]
    return next(part["properties"]["data"] for part in answer["allOf"] if "data" in part.get("properties", {}))


@pytest.mark.parametrize("name", sorted(bundled_apis()))
def test_each_apis_strategies_produce_what_its_spec_declares(name: str) -> None:
    api = bundled_apis()[name]
    records = compile_schema(status_data_schema(api))
    callbacks = compile_schema(callback_schema(api, api.create[0]))
    validator = compile_operation(api.operations[api.create[0]])

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategies.api_records(name), strategies.api_callbacks(name), strategies.api_bodies(name),
           strategies.api_bodies(name, valid=False))
    def check(record: dict, callback: dict, body: Any, bad: Any) -> None:
        records.check(record, "record")
        callbacks.check(callback, "callback")
        assert validator.accepts(body) and not validator.accepts(bad)
        assert shown(api, record), record  # the record shows one of the API's stages

    check()


@FAST
@given(strategies.api_records("suno", "success"), strategies.api_records("veo", "fail"))
def test_api_records_are_consistent_with_their_state(suno: dict, veo: dict) -> None:
    assert suno["status"] == "SUCCESS" and all(track["audioUrl"] for track in suno["response"]["sunoData"])
    assert veo["successFlag"] == 3 and veo["response"] is None and veo["errorCode"] == 501
