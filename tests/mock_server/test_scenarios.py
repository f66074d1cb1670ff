"""Every documented error code on demand, three ways, and task outcomes; credits, rate limits,
maintenance and feature switches. Every response is held to the spec by the client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mock_server.sim.scenarios import CALL_OUTCOMES
from tests.conftest import API_KEY, OTHER_KEY, RunningMock, control_for, start_mock, valid_body

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"
CREDIT = "/api/v1/chat/credit"


def create(mock: RunningMock, body: dict | None = None, *, scenario: str | None = None) -> dict:
    headers = {"X-Mock-Scenario": scenario} if scenario else {}
    return dict(mock.client.post(CREATE, json=body or valid_body(), headers=headers).json())


@pytest.mark.parametrize("name", sorted(CALL_OUTCOMES))
def test_every_call_outcome_by_header_on_create_task(any_policy_mock: RunningMock, name: str) -> None:
    mock = any_policy_mock
    code = CALL_OUTCOMES[name][0]
    response = mock.client.post(CREATE, json=valid_body(), headers={"X-Mock-Scenario": name})
    payload = response.json()
    assert payload["code"] == code and payload["data"] is None
    policy = mock.server.app.state.settings.status_policy
    assert response.status_code == (code if policy == "mirror" or code == 429 else 200)
    if code == 429:
        assert response.headers["retry-after"] == "1"
    assert mock.task_count() == 0


@pytest.mark.parametrize(("path", "params", "code"), [
    (DETAILS, {"taskId": "x"}, 455), (DETAILS, {"taskId": "x"}, 500), (DETAILS, {"taskId": "x"}, 429),
    (CREDIT, {}, 401), (CREDIT, {}, 455),
])
def test_call_outcomes_on_other_operations(any_policy_mock: RunningMock, path: str, params: dict,
                                           code: int) -> None:
    name = next(name for name, (value, _) in CALL_OUTCOMES.items() if value == code)
    payload = any_policy_mock.client.get(path, params=params, headers={"X-Mock-Scenario": name}).json()
    assert payload["code"] == code


def test_a_code_the_operation_does_not_document_is_refused(mock: RunningMock) -> None:
    payload = mock.client.get(CREDIT, headers={"X-Mock-Scenario": "insufficient-credits"}).json()
    assert payload["code"] == 422 and "does not document" in payload["msg"]


def test_header_parameters_override_the_message(mock: RunningMock) -> None:
    payload = create(mock, scenario="server-error; msg=Upstream_exploded")
    assert (payload["code"], payload["msg"]) == (500, "Upstream exploded")
    payload = create(mock, scenario="server-error; msg=Upstream exploded twice")  # `;` apart: spaces kept
    assert (payload["code"], payload["msg"]) == (500, "Upstream exploded twice")


@pytest.mark.parametrize(("header", "message"), [
    ("nonsense", "unknown scenario 'nonsense'"),
    ("fail; stage", "expected key=value"),
    ("fail; stage=cooking", "'cooking' is not one of"),
    ("slow; factor=fast", "factor: must be a number from 0.01 to 1000"),
])
def test_bad_scenarios_are_clear_422s(mock: RunningMock, header: str, message: str) -> None:
    payload = create(mock, scenario=header)
    assert payload["code"] == 422 and message in payload["msg"]
    assert mock.task_count() == 0


def test_task_outcome_header_on_get_task_details_is_refused(mock: RunningMock) -> None:
    payload = mock.client.get(DETAILS, params={"taskId": "x"}, headers={"X-Mock-Scenario": "fail"}).json()
    assert payload["code"] == 422 and "applies to createTask only" in payload["msg"]


def final_record(mock: RunningMock, task_id: str, seconds: float = 3600) -> dict:
    mock.clock.advance(seconds)
    return dict(mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"])


def test_prompt_marker_fails_the_task_at_the_chosen_stage(mock: RunningMock) -> None:
    body = valid_body(prompt="A cat [mock:fail stage=queuing code=501 msg=Image_unreadable]")
    task_id = create(mock, body)["data"]["taskId"]
    control = control_for(mock)
    states = [stage["state"] for stage in control.task(task_id)["timeline"]]
    assert states == ["waiting", "queuing", "fail"]
    record = final_record(mock, task_id)
    assert (record["state"], record["failCode"], record["failMsg"]) == ("fail", "501", "Image unreadable")
    assert record["resultJson"] is None and record["completeTime"] is not None


def test_prompt_marker_for_a_call_outcome(mock: RunningMock) -> None:
    payload = create(mock, valid_body(prompt="[mock:maintenance] hello"))
    assert payload["code"] == 455 and mock.task_count() == 0


def test_slow_and_stuck_tasks(mock: RunningMock) -> None:
    normal = create(mock)["data"]["taskId"]
    slow = create(mock, scenario="slow; factor=4")["data"]["taskId"]
    stuck = create(mock, scenario="stuck; state=queuing")["data"]["taskId"]
    normal_end = final_record(mock, normal, 0)
    mock.clock.advance(100_000)
    records = {task: mock.client.get(DETAILS, params={"taskId": task}).json()["data"]
               for task in (normal, slow, stuck)}
    assert records[stuck]["state"] == "queuing" and records[stuck]["completeTime"] is None
    assert records[slow]["state"] == "success"
    cost = {task: records[task]["completeTime"] - records[task]["createTime"] for task in (normal, slow)}
    assert cost[slow] > 3 * cost[normal]
    assert normal_end["state"] == "waiting"


def test_queued_outcomes_then_normal(mock: RunningMock) -> None:
    control = control_for(mock)
    control.queue("rate-limited", times=2)
    responses = [mock.client.post(CREATE, json=valid_body()) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert [r.json()["code"] for r in responses] == [429, 429, 200]
    assert mock.task_count() == 1


def test_queues_are_per_key(mock: RunningMock) -> None:
    control_for(mock).queue("server-error", operation="recordInfo")
    with mock.client_for(OTHER_KEY) as other:
        assert other.get(DETAILS, params={"taskId": "x"}).json()["code"] == 422  # not affected
    assert mock.client.get(DETAILS, params={"taskId": "x"}).json()["code"] == 500
    assert mock.client.get(DETAILS, params={"taskId": "x"}).json()["code"] == 422  # consumed


def test_queued_task_outcome_applies_to_the_next_task(mock: RunningMock) -> None:
    control_for(mock).queue("fail; code=400; msg=Content_policy")
    failing = create(mock)["data"]["taskId"]
    normal = create(mock)["data"]["taskId"]
    assert final_record(mock, failing)["state"] == "fail"
    assert final_record(mock, normal, 0)["state"] == "success"


def test_insufficient_balance_gives_402_and_no_task(mock: RunningMock) -> None:
    control = control_for(mock)
    control.set_balance(30)
    assert create(mock, valid_body(resolution="1080p"))["code"] == 402
    assert mock.task_count() == 0
    assert create(mock, valid_body(resolution="720p"))["code"] == 200
    assert mock.client.get(CREDIT).json()["data"] == 10


def test_failed_generation_is_refunded_when_it_fails(mock: RunningMock) -> None:
    start = mock.client.get(CREDIT).json()["data"]
    task_id = create(mock, scenario="fail; stage=generating")["data"]["taskId"]
    charged = mock.client.get(CREDIT).json()["data"]
    assert charged < start
    record = final_record(mock, task_id)
    assert record["creditsConsumed"] == 0
    assert mock.client.get(CREDIT).json()["data"] == start


@pytest.fixture
def limited_mock() -> Iterator[RunningMock]:
    yield from start_mock(create_rate_limit="20/10", query_rate_limit="10/1")


def test_create_task_rate_limit_is_a_real_http_429_with_retry_after(limited_mock: RunningMock) -> None:
    mock = limited_mock
    answers = [mock.client.post(CREATE, json=valid_body()) for _ in range(21)]
    assert [a.status_code for a in answers[:20]] == [200] * 20
    assert answers[20].status_code == 429
    assert answers[20].json()["code"] == 429
    assert int(answers[20].headers["retry-after"]) >= 1
    assert mock.task_count() == 20
    mock.clock.advance(0.25)  # half a token back (2 per second): still limited
    assert mock.client.post(CREATE, json=valid_body()).status_code == 429
    mock.clock.advance(10)
    assert mock.client.post(CREATE, json=valid_body()).status_code == 200


def test_rate_limits_switched_off_and_on_by_control_api(limited_mock: RunningMock) -> None:
    mock, control = limited_mock, control_for(limited_mock)
    assert control.toggles(rateLimits=False)["rateLimits"] is False
    assert all(mock.client.post(CREATE, json=valid_body()).status_code == 200 for _ in range(30))
    assert all(mock.client.get(DETAILS, params={"taskId": "x"}).json()["code"] == 422 for _ in range(15))
    assert control.toggles(rateLimits=True)["rateLimits"] is True
    answers = [mock.client.post(CREATE, json=valid_body()).status_code for _ in range(21)]
    assert answers[-1] == 429
    with pytest.raises(Exception, match="rateLimits: must be true or false"):
        control.toggles(rateLimits="off")


def test_query_rate_limit_is_a_429_envelope(limited_mock: RunningMock) -> None:
    mock = limited_mock
    codes = [mock.client.get(DETAILS, params={"taskId": "x"}) for _ in range(11)]
    assert [c.json()["code"] for c in codes] == [422] * 10 + [429]
    assert codes[10].status_code == 200  # upstream policy: HTTP 200, code 429
    with mock.client_for(OTHER_KEY) as other:  # another key has its own bucket
        assert other.get(DETAILS, params={"taskId": "x"}).json()["code"] == 422
    mock.clock.advance(1)
    assert mock.client.get(DETAILS, params={"taskId": "x"}).json()["code"] == 422


def test_maintenance_by_setting() -> None:
    for mock in start_mock(maintenance=True):
        assert create(mock)["code"] == 455
        assert mock.client.get(CREDIT).json()["code"] == 455


def test_maintenance_and_features_by_control_api(mock: RunningMock) -> None:
    control = control_for(mock)
    control.toggles(maintenance=True)
    assert create(mock)["code"] == 455
    control.toggles(maintenance=False, disabledFeatures=["resolution=1080p"])
    payload = create(mock, valid_body(resolution="1080p"))
    assert payload["code"] == 505 and "1080p" in payload["msg"]
    assert create(mock, valid_body(resolution="720p"))["code"] == 200


def test_feature_disabled_by_setting() -> None:
    for mock in start_mock(disabled_features=("duration=10",)):
        assert create(mock, valid_body(duration="10"))["code"] == 505
        assert create(mock, valid_body(duration="5"))["code"] == 200


def test_a_queued_task_outcome_waits_for_a_task_that_is_created(mock: RunningMock) -> None:
    control_for(mock).queue("fail; stage=waiting")
    assert create(mock, {"model": "nope"})["code"] == 422  # rejected: creates nothing, takes nothing
    failing = create(mock)["data"]["taskId"]
    assert final_record(mock, failing)["state"] == "fail"


# -- network faults and latency (issue #25) ------------------------------------------------

def raw(mock: RunningMock) -> httpx.Client:
    """A client that does not hold answers to the spec: a fault's answer is not the API's."""
    return httpx.Client(base_url=mock.base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)


def test_html_502_is_an_edge_page_not_the_envelope(mock: RunningMock) -> None:
    with raw(mock) as client:
        answer = client.get("/api/v1/chat/credit", headers={"X-Mock-Scenario": "html-502"})
        assert answer.status_code == 502 and answer.headers["content-type"] == "text/html"
        assert b"502 Bad Gateway" in answer.content
        assert control_for(mock).requests()[-1]["status"] == 502


def test_gateway_timeout_answers_504_after_its_wait(mock: RunningMock) -> None:
    with raw(mock) as client:
        answer = client.post("/api/v1/jobs/createTask", json=valid_body(),
                                  headers={"X-Mock-Scenario": "gateway-timeout; seconds=0.05"})
        assert answer.status_code == 504 and b"504 Gateway Time-out" in answer.content
        assert mock.task_count() == 0  # the edge gave up: nothing was created
        journal = control_for(mock).requests()[-1]
        assert journal["status"] == 504 and journal["latencyMs"] >= 50


def test_connection_reset_closes_the_connection_with_no_answer(mock: RunningMock) -> None:
    with raw(mock) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v1/chat/credit", headers={"X-Mock-Scenario": "connection-reset"})
        assert control_for(mock).requests()[-1]["status"] == 0
        assert client.get("/api/v1/chat/credit").json()["code"] == 200  # a new connection is served


def test_latency_holds_the_answer_back_and_then_answers_normally(mock: RunningMock) -> None:
    with raw(mock) as client:
        answer = client.get("/api/v1/chat/credit", headers={"X-Mock-Scenario": "latency; ms=80"})
        assert answer.json()["code"] == 200 and answer.elapsed.total_seconds() >= 0.08
        assert control_for(mock).requests()[-1]["latencyMs"] >= 80


def test_faults_come_by_prompt_marker_and_queue_too(mock: RunningMock) -> None:
    with raw(mock) as client:
        marked = client.post("/api/v1/jobs/createTask", json=valid_body(prompt="a cup [mock:html-502]"))
        assert marked.status_code == 502 and mock.task_count() == 0
        control_for(mock).queue("html-502", operation="recordInfo")
        queued = client.get("/api/v1/jobs/recordInfo", params={"taskId": "task_bytedance_1765182752206"})
        assert queued.status_code == 502
        held = client.post("/api/v1/jobs/createTask", json=valid_body(prompt="a cup [mock:latency ms=50]"))
        assert held.json()["code"] == 200 and held.elapsed.total_seconds() >= 0.05


def test_latency_and_faults_are_bounded(mock: RunningMock) -> None:
    for scenario, name in (("latency; ms=600000", "ms"), ("gateway-timeout; seconds=1e9", "seconds")):
        answer = mock.client.get("/api/v1/chat/credit", headers={"X-Mock-Scenario": scenario}).json()
        assert answer["code"] == 422 and answer["msg"].startswith(f"{name}:"), answer


def test_a_task_not_yet_visible_answers_record_info_is_null_for_its_seconds(mock: RunningMock) -> None:
    task_id = mock.client.post("/api/v1/jobs/createTask", json=valid_body(),
                               headers={"X-Mock-Scenario": "not-yet-visible; seconds=3"}).json()["data"]["taskId"]
    details = {"taskId": task_id}
    assert mock.client.get("/api/v1/jobs/recordInfo", params=details).json() == {
        "code": 422, "msg": "recordInfo is null", "data": None}
    control_for(mock).advance(3)
    assert mock.client.get("/api/v1/jobs/recordInfo", params=details).json()["data"]["taskId"] == task_id


# -- reset means reset (issue #25) ----------------------------------------------------------

def test_reset_returns_switches_and_the_clock_to_the_start_settings(mock: RunningMock) -> None:
    control = control_for(mock)
    start = control.now_ms()
    control.toggles(maintenance=True, disabledFeatures=["resolution=1080p"], rateLimits=False)
    control.call("PUT", "/clock", json={"speed": 100})
    control.advance(3600)
    control.reset()
    assert control.toggles() == {"maintenance": False, "disabledFeatures": [], "rateLimits": True}
    clock = control.call("GET", "/clock")
    assert clock["speed"] == 0 and clock["now"] == start
    assert mock.client.post("/api/v1/jobs/createTask", json=valid_body()).json()["code"] == 200


def test_a_key_reset_leaves_the_shared_switches_alone(mock: RunningMock) -> None:
    control = control_for(mock)
    control.toggles(maintenance=True)
    control.reset(everything=False)
    assert control.toggles()["maintenance"] is True
