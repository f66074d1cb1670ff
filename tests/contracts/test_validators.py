"""The compiled validators agree with openapi-core, the authority, and explain rejections well."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core.testing import MockRequest
from schemathesis import GenerationMode

from contracts.spec.conformance import openapi
from contracts.spec.document import load_spec
from contracts.spec.validators import RequestInvalid, as_json_schema, request_validators

CREATE = "bytedance-v1-pro-fast-image-to-video"
SCHEMA = schemathesis.openapi.from_dict(load_spec(), config=schemathesis.Config())


def openapi_core_accepts(body: Any) -> bool:
    request = MockRequest("http://127.0.0.1", "post", "/api/v1/jobs/createTask",
                          headers={"Authorization": "Bearer k"},
                          data=json.dumps(body).encode(), content_type="application/json")
    try:
        openapi().validate_request(request)
    except Exception:
        return False
    return True


def ours_accepts(body: Any) -> bool:
    return request_validators()[CREATE].accepts(body)


def create_task_bodies(mode: GenerationMode) -> st.SearchStrategy[Any]:
    strategy = SCHEMA["/api/v1/jobs/createTask"]["POST"].as_strategy(generation_mode=mode)
    return strategy.map(lambda case: case.body).filter(lambda body: not isinstance(body, bytes))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_verdicts_match_openapi_core_on_generated_bodies(mode: GenerationMode) -> None:
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(create_task_bodies(mode))
    def agree(body: Any) -> None:
        assert ours_accepts(body) == openapi_core_accepts(body), body

    agree()


@pytest.mark.parametrize("url", [
    "", "/relative", "not a uri", "https://example.com/hook", "http://127.0.0.1:9/cb?x=1",
    "ftp://files.example.com/a", "https://exa mple.com", "https://例え.jp/", "mailto:a@b.c",
    "https://example.com/%zz", "urn:isbn:0451450523",
])
def test_callback_url_formats_match_openapi_core(url: str) -> None:
    body = {"model": "bytedance/v1-pro-fast-image-to-video", "callBackUrl": url}
    assert ours_accepts(body) == openapi_core_accepts(body)


def test_messages_name_the_field_and_the_rule() -> None:
    validator = request_validators()[CREATE]
    cases = {
        "input.resolution: '480p' is not one of ['720p', '1080p']":
            {"model": "bytedance/v1-pro-fast-image-to-video",
             "input": {"prompt": "x", "image_url": "u", "resolution": "480p"}},
        "model: is required": {},
        "input.prompt: must be at most 10000 characters (got 20000)":
            {"model": "bytedance/v1-pro-fast-image-to-video",
             "input": {"prompt": "p" * 20000, "image_url": "u"}},
    }
    for message, body in cases.items():
        with pytest.raises(RequestInvalid) as caught:
            validator.check_body(body)
        assert str(caught.value) == message


def test_nullable_becomes_json_schema() -> None:
    assert as_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert as_json_schema({"anyOf": [{"type": "integer"}], "nullable": True}) == {
        "anyOf": [{"anyOf": [{"type": "integer"}]}, {"type": "null"}]}


def test_query_validation() -> None:
    validator = request_validators()["get-task-details"]
    validator.check_query({"taskId": "task_bytedance_1"})
    with pytest.raises(RequestInvalid, match="taskId: required query parameter is missing"):
        validator.check_query({})
    with pytest.raises(RequestInvalid, match="taskId: must be at least 1 characters"):
        validator.check_query({"taskId": ""})
