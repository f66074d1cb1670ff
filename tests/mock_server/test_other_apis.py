"""The family's other APIs (Veo 3.1, Suno ...) served from their bundled specs and mappings,
through HTTP: each one's own endpoints, record shapes, stages, errors, callbacks and media.
Every answer is checked against the spec of the API it belongs to (conftest)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from PIL import Image

from contracts.apis import Api, bundled_apis
from tests.conftest import OTHER_KEY, Receiver, RunningMock, control_for, start_mock

VEO = {"prompt": "A dog playing in a park", "model": "veo3_fast", "aspect_ratio": "16:9"}
SUNO = {"prompt": "A calm piano piece", "customMode": False, "instrumental": True, "model": "V4_5",
        "callBackUrl": ""}


def create(mock: RunningMock, path: str, body: dict[str, Any], **headers: str) -> str:
    payload = mock.client.post(path, json=body, headers=headers).json()
    assert payload["code"] == 200, payload
    return str(payload["data"]["taskId"])


def veo_record(mock: RunningMock, task_id: str) -> dict[str, Any]:
    payload = mock.client.get("/api/v1/veo/record-info", params={"taskId": task_id}).json()
    assert payload["code"] == 200, payload
    return dict(payload["data"])


def suno_record(mock: RunningMock, task_id: str) -> dict[str, Any]:
    payload = mock.client.get("/api/v1/generate/record-info", params={"taskId": task_id}).json()
    assert payload["code"] == 200, payload
    return dict(payload["data"])


def to_end(mock: RunningMock, task_id: str) -> None:
    control = control_for(mock)
    end = control.task(task_id)["timeline"][-1]["at"]
    control.advance(max(0, end - control.now_ms()) / 1000)


def test_a_veo_task_lives_through_its_own_record_and_video(mock: RunningMock) -> None:
    task_id = create(mock, "/api/v1/veo/generate", VEO)
    assert task_id.startswith("veo_task_")
    record = veo_record(mock, task_id)
    assert (record["successFlag"], record["response"], record["errorCode"]) == (0, None, None)
    assert json.loads(record["paramJson"]) == VEO and isinstance(record["createTime"], int)
    before = mock.client.get("/api/v1/veo/get-1080p-video", params={"taskId": task_id}).json()
    assert (before["code"], before["msg"]) == (422, "record status is not success")
    to_end(mock, task_id)
    record = veo_record(mock, task_id)
    assert record["successFlag"] == 1 and record["completeTime"] >= record["createTime"]
    urls = record["response"]["resultUrls"]
    assert isinstance(urls, list) and len(urls) == 1 and urls[0].endswith(".mp4")
    video = httpx.get(urls[0], timeout=60)
    assert video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content), mode="r") as container:
        kinds = sorted(stream.type for stream in container.streams)
        size = (container.streams.video[0].width, container.streams.video[0].height)
        seconds = float(container.duration or 0) / av.time_base
    assert kinds == ["audio", "video"] and size == (1280, 720) and 7.5 <= seconds <= 8.5
    hd = mock.client.get("/api/v1/veo/get-1080p-video", params={"taskId": task_id, "index": "0"}).json()
    assert hd["code"] == 200 and hd["data"]["resultUrl"] == urls[0]


def test_veo_portrait_and_extend_of_a_finished_task(mock: RunningMock) -> None:
    task_id = create(mock, "/api/v1/veo/generate", {**VEO, "aspect_ratio": "9:16", "model": "veo3"})
    refused = mock.client.post("/api/v1/veo/extend", json={"taskId": task_id, "prompt": "on"}).json()
    assert (refused["code"], refused["msg"]) == (422, "record status is not success")
    to_end(mock, task_id)
    url = veo_record(mock, task_id)["response"]["resultUrls"][0]
    with av.open(io.BytesIO(httpx.get(url, timeout=60).content)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (720, 1280)
    extended = create(mock, "/api/v1/veo/extend", {"taskId": task_id, "prompt": "The dog keeps running"})
    assert extended != task_id and veo_record(mock, extended)["successFlag"] == 0
    assert control_for(mock).task(extended)["record"]["taskId"] == extended
    unknown = mock.client.post("/api/v1/veo/extend", json={"taskId": "veo_task_nope", "prompt": "on"}).json()
    assert (unknown["code"], unknown["msg"]) == (422, "record is null")


def test_a_suno_task_goes_through_its_stages_with_two_tracks_and_covers(mock: RunningMock) -> None:
    task_id = create(mock, "/api/v1/generate", SUNO)
    control = control_for(mock)
    timeline = {stage["state"]: stage["at"] for stage in control.task(task_id)["timeline"]}
    record = suno_record(mock, task_id)
    assert record["status"] == "PENDING" and record["response"]["sunoData"] == []
    span = timeline["success"] - timeline["generating"]
    seen = []
    for at in (timeline["generating"], timeline["generating"] + span // 2 + 1, timeline["success"]):
        control.advance(max(0, at - control.now_ms()) / 1000)
        record = suno_record(mock, task_id)
        tracks = record["response"]["sunoData"]
        seen.append((record["status"], [bool(track["audioUrl"]) for track in tracks]))
    assert seen == [("TEXT_SUCCESS", [False, False]), ("FIRST_SUCCESS", [True, False]),
                    ("SUCCESS", [True, True])]
    first, second = tracks
    assert first["id"] != second["id"] and first["audioUrl"].endswith(".mp3")
    sounds = [httpx.get(track["audioUrl"], timeout=60).content for track in tracks]
    assert sounds[0] != sounds[1]
    for sound in sounds:
        with av.open(io.BytesIO(sound), mode="r") as container:
            assert container.format.name == "mp3" and container.streams.audio[0].codec_context.name.startswith("mp3")
            assert 29 <= float(container.duration or 0) / av.time_base <= 31
    cover = httpx.get(first["imageUrl"], timeout=60)
    assert cover.headers["content-type"] == "image/png" and Image.open(io.BytesIO(cover.content)).size == (512, 512)


def test_suno_callbacks_come_in_stages_each_when_its_stage_comes(mock: RunningMock, receiver: Receiver) -> None:
    task_id = create(mock, "/api/v1/generate", {**SUNO, "callBackUrl": receiver.url})
    control = control_for(mock)
    timeline = {stage["state"]: stage["at"] for stage in control.task(task_id)["timeline"]}
    span = timeline["success"] - timeline["generating"]
    arrived = []
    for at in (timeline["generating"] - 1, timeline["generating"], timeline["generating"] + span // 2,
               timeline["success"]):
        control.advance(max(0, at - control.now_ms()) / 1000)
        control.call("POST", "/callbacks/flush", params={"taskId": task_id})
        arrived.append([json.loads(item["body"])["data"]["callbackType"] for item in receiver.received])
    assert arrived == [[], ["text"], ["text", "first"], ["text", "first", "complete"]]
    bodies = [json.loads(item["body"]) for item in receiver.received]
    assert all(body["code"] == 200 and body["data"]["task_id"] == task_id for body in bodies)
    complete = bodies[-1]["data"]["data"]
    assert len(complete) == 2 and all(track["audio_url"].endswith(".mp3") for track in complete)
    assert [bool(track["audio_url"]) for track in bodies[0]["data"]["data"]] == [False, False]
    assert [bool(track["audio_url"]) for track in bodies[1]["data"]["data"]] == [True, False]
    record = suno_record(mock, task_id)["response"]["sunoData"]
    assert [track["audio_url"] for track in complete] == [track["audioUrl"] for track in record]
    assert [entry["result"] for entry in control.callbacks(task_id)] == ["delivered"] * 3  # each sent once


def test_a_failed_veo_and_suno_task_report_their_own_failure_and_are_refunded(mock: RunningMock,
                                                                            receiver: Receiver) -> None:
    before = mock.client.get("/api/v1/chat/credit").json()["data"]
    veo = create(mock, "/api/v1/veo/generate", {**VEO, "callBackUrl": receiver.url}, **{"X-Mock-Scenario": "fail"})
    suno = create(mock, "/api/v1/generate", {**SUNO, "callBackUrl": receiver.url}, **{"X-Mock-Scenario": "fail"})
    control = control_for(mock)
    control.wait_for_callback(veo)
    control.wait_for_callback(suno)
    record = veo_record(mock, veo)
    assert (record["successFlag"], record["errorCode"], record["errorMessage"]) == (3, 501, "Video generation failed")
    assert record["response"] is None
    failed = suno_record(mock, suno)
    assert (failed["status"], failed["errorCode"]) == ("GENERATE_AUDIO_FAILED", 501)
    bodies = {json.loads(item["body"])["data"].get("callbackType", "veo"): json.loads(item["body"])
              for item in receiver.received}
    assert bodies["veo"]["code"] == 501 and bodies["veo"]["data"] == {"taskId": veo, "fallbackFlag": False}
    assert bodies["error"]["code"] == 501 and bodies["error"]["data"]["data"] is None
    assert mock.client.get("/api/v1/chat/credit").json()["data"] == before  # both refunded
    named = create(mock, "/api/v1/veo/generate", VEO, **{"X-Mock-Scenario": "fail; code=400; msg=Flagged"})
    to_end(mock, named)
    assert (veo_record(mock, named)["errorCode"], veo_record(mock, named)["errorMessage"]) == (400, "Flagged")


def test_each_api_answers_its_own_not_found_for_another_apis_task(mock: RunningMock) -> None:
    veo = create(mock, "/api/v1/veo/generate", VEO)
    suno = create(mock, "/api/v1/generate", SUNO)
    market = mock.client.post("/api/v1/jobs/createTask", json={
        "model": "bytedance/v1-pro-fast-image-to-video",
        "input": {"prompt": "cup", "image_url": "https://example.com/cup.png"}}).json()["data"]["taskId"]
    answers = {
        ("veo", "suno"): mock.client.get("/api/v1/veo/record-info", params={"taskId": suno}).json(),
        ("veo", "market"): mock.client.get("/api/v1/veo/record-info", params={"taskId": market}).json(),
        ("suno", "veo"): mock.client.get("/api/v1/generate/record-info", params={"taskId": veo}).json(),
        ("market", "veo"): mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": veo}).json(),
    }
    assert {pair: (answer["code"], answer["msg"]) for pair, answer in answers.items()} == {
        ("veo", "suno"): (422, "record is null"), ("veo", "market"): (422, "record is null"),
        ("suno", "veo"): (422, "recordInfo is null"), ("market", "veo"): (422, "recordInfo is null")}
    with mock.client_for(OTHER_KEY) as other:  # another key's task is not found either
        assert other.get("/api/v1/veo/record-info", params={"taskId": veo}).json()["code"] == 422


def test_bad_input_and_switches_answer_in_the_apis_envelope(mock: RunningMock) -> None:
    missing = mock.client.post("/api/v1/veo/generate", json={"model": "veo3"}).json()
    assert (missing["code"], missing["msg"], missing["data"]) == (422, "prompt: is required", None)
    wrong = mock.client.post("/api/v1/generate", json={**SUNO, "model": "V9"}).json()
    assert wrong["code"] == 422 and "model" in wrong["msg"]
    broken = mock.client.post("/api/v1/veo/generate", content=b"{", headers={"content-type": "application/json"})
    assert broken.json()["code"] == 422 and broken.status_code < 500
    control = control_for(mock)
    control.toggles(maintenance=True)
    assert mock.client.post("/api/v1/veo/generate", json=VEO).json()["code"] == 455
    control.toggles(maintenance=False)
    control.set_balance(20)
    poor = mock.client.post("/api/v1/veo/generate", json={**VEO, "model": "veo3"}).json()
    assert poor["code"] == 402 and "250" in poor["msg"]
    assert create(mock, "/api/v1/generate", SUNO)  # 12 credits: the balance covers it
    assert mock.client.get("/api/v1/chat/credit").json()["data"] == 8


def test_api_tasks_persist_on_sqlite_and_the_control_api_lists_them(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    for first in start_mock(db=str(database)):
        task_id = create(first, "/api/v1/generate", SUNO)
        to_end(first, task_id)
        kept = suno_record(first, task_id)
    for second in start_mock(db=str(database)):  # its clock starts over: brought to the end again
        to_end(second, task_id)
        assert suno_record(second, task_id) == kept and kept["status"] == "SUCCESS"
        listed = {task["record"]["taskId"]: task["model"] for task in control_for(second).tasks()}
        assert listed[task_id] == "suno:V4_5"



def callback_schema(api: Api, operation_id: str) -> dict[str, Any]:
    """The callback body schema the create operation's spec declares."""
    callbacks = api.operations[operation_id].definition["callbacks"]
    expression = next(iter(next(iter(callbacks.values())).values()))
    return dict(expression["post"]["requestBody"]["content"]["application/json"]["schema"])


@pytest.mark.parametrize("name", sorted(bundled_apis()))
def test_every_bundled_api_runs_its_own_example_to_the_end(name: str, mock: RunningMock, receiver: Receiver) -> None:
    """From the spec and its mapping alone: the create's own example, the status operation,
    the result files, the callback as the spec declares it (answers are spec-checked)."""
    api = bundled_apis()[name]
    create_op = api.operations[api.create[0]]
    body = {**create_op.definition["requestBody"]["content"]["application/json"]["example"],
            "callBackUrl": receiver.url}
    task_id = create(mock, create_op.path, body)
    status = api.status
    assert mock.client.get(status.path, params={"taskId": task_id}).json()["code"] == 200
    deliveries = control_for(mock).wait_for_callback(task_id)
    assert deliveries and all(entry["result"] == "delivered" for entry in deliveries)
    record = mock.client.get(status.path, params={"taskId": task_id}).json()["data"]
    urls = [url for url in find_urls(record) if "/results/" in url]
    assert urls, record
    kind = api.mapping["output"]["kind"]
    for url in urls:
        answer = httpx.get(url, timeout=60)
        assert answer.status_code == 200 and answer.headers["content-type"].split("/")[0] in (kind, "image"), url
    validator = OAS30Validator(callback_schema(api, create_op.operation_id))
    for item in receiver.received:
        validator.validate(json.loads(item["body"]))


def find_urls(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if value.startswith("http") else set()
    if isinstance(value, dict):
        return set().union(*(find_urls(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(find_urls(item) for item in value))
    return set()


def test_openapi_json_serves_each_apis_spec_with_the_mock_as_its_server(mock: RunningMock) -> None:
    listed = mock.client.get("/openapi/apis.json").json()
    assert {entry["api"] for entry in listed} == set(bundled_apis())
    assert all(entry["factsSource"].startswith("https://") and entry["factsDate"] for entry in listed)
    for entry in listed:
        document = mock.client.get(entry["spec"]).json()
        assert document["servers"][0]["url"] == mock.base_url
        assert document["paths"] == bundled_apis()[entry["api"]].document["paths"]
    missing = mock.client.get("/openapi.json", params={"api": "nope"})
    assert missing.status_code == 404 and "veo" in missing.json()["msg"]


def test_an_apis_creates_are_rate_limited_and_its_operations_take_queued_scenarios() -> None:
    for mock in start_mock(create_rate_limit="2/10"):
        codes = [mock.client.post("/api/v1/veo/generate", json=VEO) for _ in range(3)]
        assert [answer.status_code for answer in codes] == [200, 200, 429]
        assert codes[2].json()["code"] == 429 and codes[2].headers["Retry-After"]
        control = control_for(mock)
        assert "suno-generate" in control.call("GET", "/scenarios")["otherApis"]["suno"]  # what the dashboard offers
        control.advance(10)
        control.queue("fail; code=422; msg=Rejected", operation="suno-generate")
        control.queue("maintenance", operation="veo-record-info")
        suno = create(mock, "/api/v1/generate", SUNO)
        to_end(mock, suno)
        assert (suno_record(mock, suno)["errorCode"], suno_record(mock, suno)["errorMessage"]) == (422, "Rejected")
        refused = mock.client.get("/api/v1/veo/record-info", params={"taskId": "x"}).json()
        assert refused["code"] == 455  # the queued call scenario, on that operation only
        assert mock.client.get("/api/v1/veo/record-info", params={"taskId": "x"}).json()["code"] == 422


def test_network_faults_and_documented_codes_answer_on_an_apis_operations(mock: RunningMock) -> None:
    page = httpx.get(f"{mock.base_url}/api/v1/veo/record-info", params={"taskId": "x"},  # an edge's page, no API's
                     headers={**mock.client.headers, "X-Mock-Scenario": "html-502"})
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    limited = mock.client.post("/api/v1/generate", json=SUNO, headers={"X-Mock-Scenario": "rate-limited"})
    assert limited.status_code == 429 and limited.json()["code"] == 429
    undocumented = mock.client.post("/api/v1/gpt4o-image/download-url", json={"taskId": "x", "url": "https://a.b/c"},
                                    headers={"X-Mock-Scenario": "insufficient-credits"}).json()
    assert undocumented["code"] == 422 and "402" in undocumented["msg"]  # not a code that operation documents
