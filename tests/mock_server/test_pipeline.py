"""One pipeline for every operation: uploads get what the API operations get (scenarios,
the request journal, the status policy), answers end with a newline, and the control API
renders its errors with the same renderer."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import socket

import httpx
import pytest
from PIL import Image

from tests.conftest import API_KEY, RunningMock, control_for, start_mock, valid_body

B64 = "/api/file-base64-upload"


def png_base64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_call_scenario_on_an_upload_answers_the_upload_envelope(mock: RunningMock) -> None:
    response = mock.client.post(B64, json={"base64Data": png_base64(), "uploadPath": "x"},
                                headers={"X-Mock-Scenario": "server-error"})
    assert response.status_code == 200
    assert response.json() == {"success": False, "code": 500, "msg": "Internal server error"}


def test_a_code_an_upload_does_not_document_is_refused_as_a_400(mock: RunningMock) -> None:
    payload = mock.client.post(B64, json={"base64Data": png_base64(), "uploadPath": "x"},
                               headers={"X-Mock-Scenario": "maintenance"}).json()
    assert payload["success"] is False and payload["code"] == 400 and "does not document" in payload["msg"]


def test_queued_upload_outcome_then_normal(mock: RunningMock) -> None:
    control_for(mock).queue("unauthorized", operation="file-base64-upload")
    body = {"base64Data": png_base64(), "uploadPath": "x"}
    assert mock.client.post(B64, json=body).json()["code"] == 401
    assert mock.client.post(B64, json=body).json()["success"] is True


def test_maintenance_leaves_uploads_alone(mock: RunningMock) -> None:
    control_for(mock).toggles(maintenance=True)
    assert mock.client.get("/api/v1/chat/credit").json()["code"] == 455
    assert mock.client.post(B64, json={"base64Data": png_base64(), "uploadPath": "x"}).json()["success"] is True


def test_uploads_are_journaled_like_every_call(mock: RunningMock) -> None:
    mock.client.post(B64, json={"base64Data": "not base64!", "uploadPath": "x"})
    entries = control_for(mock).requests()
    assert [(e["path"], e["operationId"], e["code"]) for e in entries] == [(B64, "file-base64-upload", 400)]


def test_upload_errors_mirror_their_code_under_the_mirror_policy() -> None:
    for mock in start_mock(status_policy="mirror"):
        response = mock.client.post(B64, json={"uploadPath": "x"})
        assert response.status_code == 400
        assert response.json()["msg"] == "Missing required parameter: base64Data"


def test_every_json_answer_ends_with_a_newline(mock: RunningMock) -> None:
    answers = [mock.client.get("/api/v1/chat/credit"), mock.client.get("/api/v1/jobs/recordInfo"),
               mock.client.post(B64, json={}), httpx.get(f"{mock.base_url}/__mock__/clock"),
               httpx.get(f"{mock.base_url}/nothing/here")]
    assert all(answer.content.endswith(b"}\n") for answer in answers), [a.content[-5:] for a in answers]


def test_control_api_errors_use_the_one_renderer(mock: RunningMock) -> None:
    response = httpx.put(f"{mock.base_url}/__mock__/keys/{API_KEY}/balance", json={"balance": -1})
    assert response.status_code == 422
    assert response.json() == {"code": 422, "msg": "balance: must be a number from 0 to 1e+15", "data": None}
    assert response.headers["content-length"] == str(len(response.content))


def raw_exchanges(base_url: str, requests: list[bytes]) -> list[bytes]:
    """Each request and its answer, in turn, over one TCP connection (b"" once it was closed)."""
    host, port = base_url.removeprefix("http://").split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for request in requests:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1)) if head else 0  # type: ignore[union-attr]
            while len(body) < length and (chunk := sock.recv(65536)):
                body += chunk
            answers.append(head + b"\r\n\r\n" + body if head else b"")
    return answers


def test_an_unexpected_error_is_a_journaled_500_and_the_connection_is_kept(mock: RunningMock,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Regression: a 500 escaped the pipeline, so it never reached the request journal and the
    server dropped the client's keep-alive connection."""
    services = mock.server.app.state.services

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in a service")

    services.tasks.create_task = broken
    body = json.dumps(valid_body()).encode()
    create = (b"POST /api/v1/jobs/createTask HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + API_KEY.encode()
              + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    credit = b"GET /api/v1/chat/credit HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + API_KEY.encode() + b"\r\n\r\n"
    with caplog.at_level(logging.ERROR, logger="apikley_mock.requests"):
        first, second = raw_exchanges(mock.base_url, [create, credit])
    assert first.startswith(b"HTTP/1.1 500 ")
    assert first.endswith(b'{"code":500,"msg":"Internal server error","data":null}\n')
    assert second.startswith(b"HTTP/1.1 200 ") and b'"code":200' in second  # the same connection answered again
    assert "a bug in a service" in caplog.text
    journal = control_for(mock).requests()
    assert [(entry["path"], entry["code"], entry["status"]) for entry in journal][:1] == [
        ("/api/v1/jobs/createTask", 500, 500)]


def test_the_journal_keeps_each_exchange_bounded_with_the_key_masked() -> None:
    key = "4f1c9a7e20b35d86"
    for mock in start_mock(api_keys=(key,)):
        refused = valid_body()
        refused["input"]["prompt"] = "p" * 10_001  # over the excerpt's bound, and the spec's
        headers = {"Authorization": f"Bearer {key}"}
        mock.client.post("/api/v1/jobs/createTask", json=refused, headers=headers)
        mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": "none-such"}, headers=headers)
        create, poll = control_for(mock, key).requests()
    assert create["key"] == "…5d86" and key not in json.dumps([create, poll])
    assert create["request"].startswith('{"model":') and create["request"].endswith(" bytes in all)")
    assert len(create["request"]) < 2100 and json.loads(create["answer"])["code"] == 422
    assert poll["query"] == "taskId=none-such" and poll["request"] is None
    assert json.loads(poll["answer"])["msg"] == "recordInfo is null"
