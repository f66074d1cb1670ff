"""The control API: inspect and steer tasks, the clock, keys; journals; who may use it."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from mock_server import Settings, create_app
from tests.conftest import API_KEY, EPOCH_MS, OTHER_KEY, RunningMock, control_for, valid_body

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"


def create(client: httpx.Client) -> str:
    return str(client.post(CREATE, json=valid_body()).json()["data"]["taskId"])


def test_tasks_list_and_get_with_their_timeline(mock: RunningMock) -> None:
    control = control_for(mock)
    task_id = create(mock.client)
    with mock.client_for(OTHER_KEY) as other:
        create(other)
    listed = control.tasks()
    assert [view["record"]["taskId"] for view in listed] == [task_id]  # this key's only
    view = control.task(task_id)
    assert [stage["state"] for stage in view["timeline"]] == ["waiting", "queuing", "generating", "success"]
    assert view["timeline"][0]["at"] == EPOCH_MS and view["record"]["state"] == "waiting"
    assert view["outcome"]["state"] == "success" and view["settled"] is False


def test_clock_read_advance_and_speed(mock: RunningMock) -> None:
    control = control_for(mock)
    assert control.now_ms() == EPOCH_MS
    assert control.advance(300) == EPOCH_MS + 300_000
    assert control.call("PUT", "/clock", json={"speed": 0})["speed"] == 0
    for bad in ({"seconds": -1}, {"seconds": "ten"}, {}):
        response = httpx.post(f"{mock.base_url}/__mock__/clock/advance", json=bad)
        assert response.status_code == 422 and "seconds" in response.json()["msg"]


def test_force_state_and_outcome(mock: RunningMock) -> None:
    control = control_for(mock)
    task_id = create(mock.client)
    control.force_state(task_id, "generating")
    assert mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"]["state"] == "generating"
    mock.clock.advance(10_000)
    assert mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"]["state"] == "generating"
    view = control.force_state(task_id, "success")
    record = mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"]
    assert record["state"] == "success" and view["settled"] is True
    response = httpx.post(f"{mock.base_url}/__mock__/tasks/{task_id}/state", json={"state": "fail"})
    assert response.status_code == 422 and "terminal states never change" in response.json()["msg"]
    other = create(mock.client)
    control.set_outcome(other, "fail; stage=waiting; code=400")
    mock.clock.advance(5)
    assert mock.client.get(DETAILS, params={"taskId": other}).json()["data"]["failCode"] == "400"


def test_unknown_task_is_404_and_bad_state_422(mock: RunningMock) -> None:
    assert httpx.get(f"{mock.base_url}/__mock__/tasks/nope").status_code == 404
    task_id = create(mock.client)
    response = httpx.post(f"{mock.base_url}/__mock__/tasks/{task_id}/state", json={"state": "done"})
    assert response.status_code == 422 and "'done' is not one of" in response.json()["msg"]


def test_balance_per_key(mock: RunningMock) -> None:
    control = control_for(mock)
    control.set_balance(123.5)
    assert mock.client.get("/api/v1/chat/credit").json()["data"] == 123.5
    with mock.client_for(OTHER_KEY) as other:
        assert other.get("/api/v1/chat/credit").json()["data"] == 10_000


def test_request_journal_is_per_key_and_bounded(mock: RunningMock) -> None:
    create(mock.client)
    mock.client.get(DETAILS, params={"taskId": "missing"})
    with mock.client_for(OTHER_KEY) as other:
        other.get("/api/v1/chat/credit")
    entries = control_for(mock).requests()
    assert [(e["method"], e["path"], e["status"], e["code"]) for e in entries] == [
        ("POST", CREATE, 200, 200), ("GET", DETAILS, 200, 422)]
    assert all(e["latencyMs"] >= 0 and e["at"] == EPOCH_MS for e in entries)
    assert [e["path"] for e in control_for(mock, OTHER_KEY).requests()] == ["/api/v1/chat/credit"]


def test_journal_keeps_only_the_newest_entries() -> None:
    from mock_server.store.journal import Journal

    journal: Journal[dict] = Journal(per_key=3)
    for number in range(5):
        journal.add("k", {"n": number})
    assert [entry["n"] for entry in journal.entries("k")] == [2, 3, 4]


def test_reset_of_one_key_leaves_the_others(mock: RunningMock) -> None:
    create(mock.client)
    with mock.client_for(OTHER_KEY) as other:
        kept = create(other)
    control_for(mock).call("POST", "/reset", json={"apiKey": API_KEY})
    assert control_for(mock).tasks() == []
    assert [view["record"]["taskId"] for view in control_for(mock, OTHER_KEY).tasks()] == [kept]
    control_for(mock).reset()
    assert mock.task_count() == 0


def test_queue_validation(mock: RunningMock) -> None:
    url = f"{mock.base_url}/__mock__/keys/{API_KEY}/queue"
    cases = [({"operation": "nope", "scenario": "fail"}, "operation"),
             ({"scenario": "fail", "times": 0}, "times"),
             ({"operation": "recordInfo", "scenario": "fail"}, "queue it for createTask"),
             ({"scenario": "boom"}, "unknown scenario")]
    for body, message in cases:
        response = httpx.post(url, json=body)
        assert response.status_code == 422 and message in response.json()["msg"], body
    assert httpx.post(url, json=["not", "an", "object"]).status_code == 422
    control_for(mock).queue("maintenance", times=2)
    assert httpx.get(url).json()["data"]["queued"] == {
        "bytedance-v1-pro-fast-image-to-video": ["maintenance", "maintenance"]}
    assert httpx.delete(url).json()["data"]["queued"] == {}


@pytest.mark.parametrize(("token", "presented", "status"), [
    (None, None, 403), ("s3cret", None, 403), ("s3cret", "wrong", 403), ("s3cret", "s3cret", 200),
])
def test_control_api_is_closed_to_other_hosts_without_the_admin_token(
        token: str | None, presented: str | None, status: int) -> None:
    app = create_app(Settings(api_keys=(API_KEY,), admin_token=token))
    # An in-process transport with a non-loopback client address: no network involved.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    headers = {"X-Mock-Admin-Token": presented} if presented else {}

    async def probe() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            control = await client.get("/__mock__/clock", headers=headers)
            health = await client.get("/__mock__/health")
        return control.status_code, health.status_code

    assert asyncio.run(probe()) == (status, 200)  # readiness stays open to everyone


# -- seeded tasks (issue #25) ---------------------------------------------------------------

def test_a_seeded_task_answers_the_record_it_was_given(mock: RunningMock) -> None:
    control = control_for(mock)
    failed = control.seed_task(valid_body(), state="fail", failCode="451", failMsg="Content blocked", costTime=7)
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": failed}).json()["data"]
    assert (record["state"], record["failCode"], record["failMsg"], record["costTime"]) == (
        "fail", "451", "Content blocked", 7)
    assert record["completeTime"] is not None and record["resultJson"] is None
    control.advance(3600)
    assert mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": failed}).json()["data"] == record


def test_a_seeded_success_serves_its_result_like_any_other(mock: RunningMock) -> None:
    task_id = control_for(mock).seed_task(valid_body(resolution="1080p"), state="success")
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    url = json.loads(record["resultJson"])["resultUrls"][0]
    video = httpx.get(url, timeout=60)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert mock.client.get("/api/v1/chat/credit").json()["data"] == 10_000  # seeding charges nothing


def test_a_seeded_running_task_stays_in_its_state(mock: RunningMock) -> None:
    task_id = control_for(mock).seed_task(valid_body(), state="queuing")
    control_for(mock).advance(3600)
    assert mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]["state"] == "queuing"


@pytest.mark.parametrize(("seed", "message"), [
    ({"record": {"state": "done"}}, "record.state: 'done' is not one of"),
    ({"record": {"costTime": -1}}, "record.costTime"),
    ({"record": {"createTime": 5}}, "record.createTime"),
    ({"record": {"taskId": "mine"}}, "record.taskId: not a field a seeded record sets"),
    ({"body": {"model": "bytedance/v1-pro-fast-image-to-video", "input": {"prompt": "x"}}},
     "body.input.image_url: is required"),
])
def test_a_seeded_record_the_spec_forbids_is_refused_naming_the_field(mock: RunningMock, seed: dict,
                                                                      message: str) -> None:
    answer = httpx.post(f"{mock.base_url}/__mock__/tasks", json={"apiKey": API_KEY, "body": valid_body(), **seed})
    assert answer.status_code == 422 and message in answer.json()["msg"], answer.json()
    assert mock.task_count() == 0
