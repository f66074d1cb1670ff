"""createTask and Get Task Details through real HTTP, every response held to the spec."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import API_KEY, EPOCH_MS, MODEL, OTHER_KEY, RunningMock, valid_body

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"


def create(mock: RunningMock, body: dict | None = None, client: httpx.Client | None = None) -> str:
    response = (client or mock.client).post(CREATE, json=body or valid_body())
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["code"] == 200 and payload["msg"] == "success", payload
    return str(payload["data"]["taskId"])


def details(mock: RunningMock, task_id: str) -> dict:
    response = mock.client.get(DETAILS, params={"taskId": task_id})
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 200, payload
    return dict(payload["data"])


def test_create_task_returns_a_bytedance_task_id(mock: RunningMock) -> None:
    task_id = create(mock)
    assert task_id == f"task_bytedance_{EPOCH_MS}"


def test_new_task_is_waiting_with_the_body_as_a_json_string(mock: RunningMock) -> None:
    body = valid_body(resolution="1080p", duration="10")
    body["callBackUrl"] = "https://example.com/hook"
    record = details(mock, create(mock, body))
    assert record["state"] == "waiting"
    assert isinstance(record["param"], str) and json.loads(record["param"]) == body
    assert record["model"] == MODEL
    assert record["createTime"] == record["updateTime"] == EPOCH_MS
    assert record["resultJson"] is None and record["completeTime"] is None
    assert record["failCode"] is None and record["failMsg"] is None and record["costTime"] is None


def test_task_walks_the_lifecycle_to_success_on_the_virtual_clock(mock: RunningMock) -> None:
    task_id = create(mock)
    seen: list[str] = []
    for _ in range(200):  # 1 virtual second per step: 200 s is past any 720p/5 s task
        record = details(mock, task_id)
        if not seen or seen[-1] != record["state"]:
            seen.append(record["state"])
        if record["state"] == "success":
            break
        mock.clock.advance(1)
    assert seen == ["waiting", "queuing", "generating", "success"]
    total_seconds = (record["completeTime"] - record["createTime"]) / 1000
    assert 40 <= total_seconds <= 120
    assert record["updateTime"] == record["completeTime"]
    assert 0 < record["costTime"] <= total_seconds  # seconds, not milliseconds
    urls = json.loads(record["resultJson"])["resultUrls"]
    assert len(urls) == 1 and re.fullmatch(rf"{mock.base_url}/results/[0-9a-f]{{24}}/{task_id}\.mp4", urls[0])
    mock.clock.advance(3600)
    assert details(mock, task_id) == record  # terminal: nothing changes any more


def test_bigger_videos_take_longer(mock: RunningMock) -> None:
    small = create(mock, valid_body(resolution="720p", duration="5"))
    big = create(mock, valid_body(resolution="1080p", duration="10"))
    mock.clock.advance(600)
    cost = {task: details(mock, task)["completeTime"] - details(mock, task)["createTime"]
            for task in (small, big)}
    assert cost[big] > cost[small]


def test_unknown_task_is_record_info_is_null_with_http_200(mock: RunningMock) -> None:
    response = mock.client.get(DETAILS, params={"taskId": "task_bytedance_1"})
    assert response.status_code == 200
    assert response.json() == {"code": 422, "msg": "recordInfo is null", "data": None}


def test_another_keys_task_does_not_exist_for_you(mock: RunningMock) -> None:
    task_id = create(mock)
    with mock.client_for(OTHER_KEY) as other:
        assert other.get(DETAILS, params={"taskId": task_id}).json()["code"] == 422


def test_missing_task_id_is_a_validation_error(mock: RunningMock) -> None:
    payload = mock.client.get(DETAILS).json()
    assert payload["code"] == 422 and "taskId" in payload["msg"]


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Basic dGVzdC1rZXk=", "Bearer wrong-key", f"Token {API_KEY}",
    f"Bearer {API_KEY}x",
], ids=["missing", "empty", "no-token", "basic", "unknown-key", "wrong-scheme",
        "key-prefix"])
def test_bad_credentials_get_401_and_create_nothing(any_policy_mock: RunningMock,
                                                    authorization: str | None) -> None:
    mock = any_policy_mock
    headers = {} if authorization is None else {"Authorization": authorization}
    with mock.client_for(None) as anonymous:
        response = anonymous.post(CREATE, json=valid_body(), headers=headers)
        details_response = anonymous.get(DETAILS, params={"taskId": "x"}, headers=headers)
    expected_status = 401 if mock.server.app.state.settings.status_policy == "mirror" else 200
    for answer in (response, details_response):
        assert answer.status_code == expected_status
        assert answer.json() == {"code": 401, "msg": "You do not have access permissions",
                                 "data": None}
    assert mock.task_count() == 0


def test_bearer_scheme_is_case_insensitive(mock: RunningMock) -> None:
    response = mock.client.post(CREATE, json=valid_body(),
                                headers={"Authorization": f"bearer {API_KEY}"})
    assert response.json()["code"] == 200


def test_status_policy_decides_the_http_status_of_errors(any_policy_mock: RunningMock) -> None:
    mock = any_policy_mock
    response = mock.client.post(CREATE, json={"model": "nope"})
    policy = mock.server.app.state.settings.status_policy
    assert response.status_code == (422 if policy == "mirror" else 200)
    assert response.json()["code"] == 422


def test_unknown_path_is_a_404_envelope(mock: RunningMock) -> None:
    response = mock.client.get("/api/v1/jobs/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == 404 and "/api/v1/jobs/nothing" in response.json()["msg"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", CREATE, "POST"), ("DELETE", DETAILS, "GET"), ("PUT", CREATE, "POST"),
])
def test_wrong_method_is_405_with_allow(mock: RunningMock, method: str, path: str,
                                        allowed: str) -> None:
    response = mock.client.request(method, path)
    assert response.status_code == 405
    assert allowed in response.headers["allow"]
    assert response.json()["code"] == 405


def test_task_ids_are_unique_under_concurrency(mock: RunningMock) -> None:
    def one(_: int) -> str:
        with mock.client_for(API_KEY) as client:
            return create(mock, client=client)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(120)))
    assert len(set(ids)) == 120
    assert all(task_id.startswith("task_bytedance_") and len(task_id) == 28 for task_id in ids)


def test_credits_are_charged_per_task(mock: RunningMock) -> None:
    before = mock.client.get("/api/v1/chat/credit").json()["data"]
    create(mock, valid_body(resolution="1080p", duration="10"))
    after = mock.client.get("/api/v1/chat/credit").json()["data"]
    prices = mock.server.app.state.settings.prices
    assert before - after == pytest.approx(prices["1080p/10"])


def test_health_is_ready_without_a_key(mock: RunningMock) -> None:
    with mock.client_for(None) as anonymous:
        payload = anonymous.get("/__mock__/health").json()
    assert payload["data"]["status"] == "ok"
