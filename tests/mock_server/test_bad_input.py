"""Every kind of bad request gets a clear envelope error, the server stays up, and nothing is created."""

from __future__ import annotations

import pytest

from tests.conftest import MODEL, RunningMock, valid_body

CREATE = "/api/v1/jobs/createTask"
JSON = {"Content-Type": "application/json"}


def long_prompt(length: int) -> bytes:
    return (f'{{"model": "{MODEL}", "input": {{"prompt": "' + "a" * length
            + '", "image_url": "https://example.com/a.png"}}').encode()


BAD = {
    "malformed-json": (b'{"model": ', JSON, "not valid JSON"),
    "empty-body": (b"", JSON, "body is required"),
    "invalid-utf8": (b'{"model": "\xff\xfe"}', JSON, "not valid UTF-8"),
    "nan-is-not-json": (b'{"model": NaN}', JSON, "not valid JSON"),
    "array": (b"[]", JSON, "must be of type object (got array)"),
    "scalar": (b"42", JSON, "must be of type object (got integer)"),
    "string": (b'"hello"', JSON, "must be of type object (got string)"),
    "no-content-type": (b"{}", {}, "Content-Type: must be application/json (got none)"),
    "wrong-content-type": (b"{}", {"Content-Type": "text/plain"}, "Content-Type: must be"),
    "form-content-type": (b"model=x", {"Content-Type": "application/x-www-form-urlencoded"},
                          "Content-Type: must be"),
    "missing-model": (b"{}", JSON, "model: is required"),
    "wrong-model": (b'{"model": "sora"}', JSON, "model: 'sora' is not a loaded model"),
    "prompt-10001": (long_prompt(10001), JSON, "input.prompt: must be at most 10000 characters (got 10001)"),
    "missing-image-url": (f'{{"model": "{MODEL}", "input": {{"prompt": "x"}}}}'.encode(), JSON,
                          "input.image_url: is required"),
    "resolution-480p": (f'{{"model": "{MODEL}", "input": {{"prompt": "x", "image_url": "u", '
                        f'"resolution": "480p"}}}}'.encode(), JSON,
                        "input.resolution: '480p' is not one of ['720p', '1080p']"),
    "duration-as-number": (f'{{"model": "{MODEL}", "input": {{"prompt": "x", "image_url": "u", '
                           f'"duration": 5}}}}'.encode(), JSON, "input.duration: must be of type string (got integer)"),
    "relative-callback-url": (f'{{"model": "{MODEL}", "callBackUrl": "/hook"}}'.encode(), JSON,
                              "callBackUrl: '/hook' is not a valid uri"),
    "input-not-object": (f'{{"model": "{MODEL}", "input": "x"}}'.encode(), JSON,
                         "input: must be of type object (got string)"),
}


@pytest.mark.parametrize(("body", "headers", "message"), BAD.values(), ids=BAD.keys())
def test_bad_create_task_is_a_422_envelope_and_creates_nothing(
        mock: RunningMock, body: bytes, headers: dict, message: str) -> None:
    response = mock.client.post(CREATE, content=body, headers=headers)
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 422 and payload["data"] is None
    assert message in payload["msg"]
    assert len(payload["msg"]) < 300  # a huge value is never echoed back
    assert mock.task_count() == 0
    assert mock.client.get("/__mock__/health").status_code == 200  # still up


def test_prompt_of_exactly_10000_characters_is_accepted(mock: RunningMock) -> None:
    response = mock.client.post(CREATE, content=long_prompt(10000), headers=JSON)
    assert response.json()["code"] == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_create_task_body_over_1_mib_is_refused(mock: RunningMock, declared: bool) -> None:
    big = long_prompt(1024 * 1024 + 1)  # createTask keeps its body: 1 MiB (other bodies: 10 MiB)
    content = big if declared else iter([big[i:i + 65536] for i in range(0, len(big), 65536)])
    response = mock.client.post(CREATE, content=content, headers=JSON)
    payload = response.json()
    assert payload["code"] == 422 and "larger than the 1048576 bytes allowed" in payload["msg"]
    assert mock.task_count() == 0


def test_unknown_extra_fields_are_accepted_as_the_spec_allows(mock: RunningMock) -> None:
    body = valid_body()
    body["extra"] = {"nested": [1, 2]}
    body["input"]["seed"] = 7
    response = mock.client.post(CREATE, json=body)
    assert response.json()["code"] == 200
    assert mock.task_count() == 1


def test_charset_parameter_on_json_content_type_is_fine(mock: RunningMock) -> None:
    import json

    response = mock.client.post(CREATE, content=json.dumps(valid_body()).encode(),
                                headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.json()["code"] == 200
