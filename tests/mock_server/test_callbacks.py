"""Callbacks: sent when a task ends on the virtual clock, signed, retried, journaled, refused
for hosts nobody allowed; scenarios duplicate, delay and drop them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from contracts.spec.document import schema
from mock_server import Settings, ThreadedServer, create_app
from mock_server.testing import MockControl
from tests.conftest import API_KEY, EPOCH_MS, Receiver, RunningMock, control_for, start_mock, valid_body

HMAC_KEY = "webhook-secret"
CALLBACK_SCHEMA = OAS30Validator(schema("CallbackPayload"), format_checker=oas30_format_checker)


@pytest.fixture
def signed_mock() -> Iterator[RunningMock]:
    yield from start_mock(webhook_hmac_key=HMAC_KEY)


def create_with_callback(mock: RunningMock, url: str, *, scenario: str | None = None,
                         **input_fields: str) -> str:
    body = valid_body(**input_fields)
    body["callBackUrl"] = url
    headers = {"X-Mock-Scenario": scenario} if scenario else {}
    payload = mock.client.post("/api/v1/jobs/createTask", json=body, headers=headers).json()
    assert payload["code"] == 200, payload
    return str(payload["data"]["taskId"])


def test_signed_success_callback_reaches_a_loopback_receiver(signed_mock: RunningMock,
                                                             receiver: Receiver) -> None:
    task_id = create_with_callback(signed_mock, receiver.url)
    control = control_for(signed_mock)
    deliveries = control.wait_for_callback(task_id)
    assert [entry["result"] for entry in deliveries] == ["delivered"]
    assert len(receiver.received) == 1
    headers, raw = receiver.received[0]["headers"], receiver.received[0]["body"]
    timestamp = headers["x-webhook-timestamp"]
    expected = base64.b64encode(hmac.new(HMAC_KEY.encode(), f"{task_id}.{timestamp}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["x-webhook-signature"], expected)
    assert deliveries[0]["signature"] == expected  # journaled as sent
    payload = json.loads(raw)
    CALLBACK_SCHEMA.validate(payload)
    assert payload["code"] == 200 and payload["msg"] == "Playground task completed successfully."
    record = signed_mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    assert {key: payload["data"][key] for key in record} == record  # agrees with the final record
    balance = signed_mock.client.get("/api/v1/chat/credit").json()["data"]
    assert payload["data"]["consumeCredits"] == record["creditsConsumed"] > 0
    assert payload["data"]["remainedCredits"] == balance


def test_callback_is_due_exactly_when_the_task_ends(mock: RunningMock, receiver: Receiver) -> None:
    task_id = create_with_callback(mock, receiver.url)
    control = control_for(mock)
    end = control.task(task_id)["timeline"][-1]["at"]
    control.advance((end - EPOCH_MS) / 1000 - 0.001)
    assert control.call("POST", "/callbacks/flush", params={"taskId": task_id})["deliveries"] == []
    control.advance(0.001)
    report = control.call("POST", "/callbacks/flush", params={"taskId": task_id})
    assert [entry["result"] for entry in report["deliveries"]] == ["delivered"]
    assert report["deliveries"][0]["at"] == end


def test_unsigned_without_a_key(mock: RunningMock, receiver: Receiver) -> None:
    control_for(mock).wait_for_callback(create_with_callback(mock, receiver.url))
    assert "x-webhook-signature" not in receiver.received[0]["headers"]


def test_failed_task_sends_501_with_no_charge_and_refund(mock: RunningMock, receiver: Receiver) -> None:
    control = control_for(mock)
    before = mock.client.get("/api/v1/chat/credit").json()["data"]
    task_id = create_with_callback(mock, receiver.url, scenario="fail; stage=queuing; code=501; msg=Bad_image")
    control.wait_for_callback(task_id)
    payload = json.loads(receiver.received[0]["body"])
    CALLBACK_SCHEMA.validate(payload)
    assert (payload["code"], payload["msg"]) == (501, "Playground task failed.")
    data = payload["data"]
    assert (data["state"], data["failCode"], data["failMsg"]) == ("fail", "501", "Bad image")
    assert data["consumeCredits"] == 0 and data["creditsConsumed"] == 0 and data["resultJson"] is None
    assert data["remainedCredits"] == before == mock.client.get("/api/v1/chat/credit").json()["data"]


def test_receiver_failing_twice_is_retried_until_delivered(mock: RunningMock, receiver: Receiver) -> None:
    receiver.fail_first[0] = 2
    deliveries = control_for(mock).wait_for_callback(create_with_callback(mock, receiver.url))
    assert [(d["attempt"], d["result"], d["status"]) for d in deliveries] == [
        (1, "retrying", 500), (2, "retrying", 500), (3, "delivered", 200)]
    assert deliveries[1]["at"] - deliveries[0]["at"] == 5000  # backoff on the virtual clock
    assert deliveries[2]["at"] - deliveries[1]["at"] == 10000
    assert all(d["latencyMs"] is not None and d["latencyMs"] >= 0 for d in deliveries)
    assert len(receiver.received) == 3
    # Each attempt keeps the receiver's answer (excerpted); unsigned without --webhook-hmac-key.
    assert [d["response"] for d in deliveries] == ['{"error":"try again"}'] * 2 + ['{"ok":true}']
    assert [d["signature"] for d in deliveries] == [None] * 3


def test_delivery_stops_after_three_failed_attempts(mock: RunningMock, receiver: Receiver) -> None:
    receiver.fail_first[0] = 10
    deliveries = control_for(mock).wait_for_callback(create_with_callback(mock, receiver.url))
    assert [d["result"] for d in deliveries] == ["retrying", "retrying", "failed"]
    assert deliveries[-1]["error"] == "HTTP 500"


@pytest.mark.parametrize(("scenario", "expected"), [
    ("callback-duplicate", ["delivered", "delivered"]),
    ("callback-drop", ["dropped"]),
])
def test_duplicate_and_dropped_deliveries(mock: RunningMock, receiver: Receiver, scenario: str,
                                          expected: list[str]) -> None:
    task_id = create_with_callback(mock, receiver.url, scenario=scenario)
    control = control_for(mock)
    control.wait_for_callback(task_id)
    control.call("POST", "/callbacks/flush", params={"taskId": task_id})
    assert [entry["result"] for entry in control.callbacks(task_id)] == expected
    assert len(receiver.received) == expected.count("delivered")


def test_delayed_delivery_arrives_late(mock: RunningMock, receiver: Receiver) -> None:
    task_id = create_with_callback(mock, receiver.url, scenario="callback-delay; seconds=120")
    control = control_for(mock)
    end = control.task(task_id)["timeline"][-1]["at"]
    deliveries = control.wait_for_callback(task_id)
    assert deliveries[0]["result"] == "delivered" and deliveries[0]["at"] == end + 120_000


def test_other_hosts_are_refused_and_never_called(mock: RunningMock) -> None:
    task_id = create_with_callback(mock, "https://hooks.example.com/callback")
    deliveries = control_for(mock).wait_for_callback(task_id)
    assert [(d["result"], d["status"]) for d in deliveries] == [("refused", None)]
    assert "allowed host" in deliveries[0]["error"]


def test_allowed_host_is_called_through_the_transport_seam_with_timeouts_retried() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("receiver did not answer in 15 s", request=request)
        return httpx.Response(204)

    settings = Settings(api_keys=(API_KEY,), speed=0, callback_allow_hosts=("hooks.example.com",))
    app = create_app(settings, transport=httpx.MockTransport(answer))
    with ThreadedServer(app) as server:
        control = MockControl(server.base_url, API_KEY)
        body = {**valid_body(), "callBackUrl": "https://hooks.example.com/callback"}
        task_id = control.client.post("/api/v1/jobs/createTask", json=body).json()["data"]["taskId"]
        deliveries = control.wait_for_callback(task_id)
    assert [d["result"] for d in deliveries] == ["retrying", "delivered"]
    assert deliveries[0]["error"].startswith("ReadTimeout")
    assert str(calls[-1].url) == "https://hooks.example.com/callback"


def test_redeliver_sends_an_ended_tasks_callback_again(mock: RunningMock, receiver: Receiver) -> None:
    control = control_for(mock)
    task_id = create_with_callback(mock, receiver.url)
    control.wait_for_callback(task_id)
    control.call("POST", f"/tasks/{task_id}/redeliver")
    control.call("POST", "/callbacks/flush", params={"taskId": task_id})
    assert [entry["result"] for entry in control.callbacks(task_id)] == ["delivered", "delivered"]
    assert receiver.received[0]["body"] == receiver.received[1]["body"]


def test_redeliver_refuses_a_running_task(mock: RunningMock, receiver: Receiver) -> None:
    task_id = create_with_callback(mock, receiver.url)
    response = httpx.post(f"{mock.base_url}/__mock__/tasks/{task_id}/redeliver")
    assert response.status_code == 422 and "has not ended" in response.json()["msg"]


def test_hanging_receivers_never_block_the_api_and_deliveries_are_bounded() -> None:
    import asyncio
    import threading

    release = threading.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.to_thread(release.wait, 30)  # a receiver that does not answer
        return httpx.Response(200)

    settings = Settings(api_keys=(API_KEY,), speed=0, callback_allow_hosts=("slow.example.com",),
                        create_rate_limit="off")
    app = create_app(settings, transport=httpx.MockTransport(hang))
    dispatcher = app.state.services.dispatcher
    with ThreadedServer(app) as server:
        control = MockControl(server.base_url, API_KEY)
        body = {**valid_body(), "callBackUrl": "https://slow.example.com/hook"}
        ids = [control.client.post("/api/v1/jobs/createTask", json=body).json()["data"]["taskId"]
               for _ in range(dispatcher.policy.concurrency + 4)]
        control.advance(3600)  # every task ends: their callbacks fall due
        in_flight = dispatcher.in_flight()
        waiting = len([item for item in dispatcher.pending() if item["claimedBy"] is None])
        # The API still answers at once while every delivery slot hangs.
        answer = control.client.get("/api/v1/jobs/recordInfo", params={"taskId": ids[0]}, timeout=5)
        release.set()
        deliveries = [control.wait_for_callback(task_id) for task_id in ids]
    assert in_flight == dispatcher.policy.concurrency and waiting == 4
    assert answer.json()["data"]["state"] == "success"
    assert all(entries[-1]["result"] == "delivered" for entries in deliveries)
