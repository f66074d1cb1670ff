"""The bundled spec: valid OpenAPI, examples that match their schemas, resolvable references,
and the seed's createTask facts pinned so they cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from contracts.spec.document import dereference, load_spec, operation, operations, resolve_pointer, schema
from contracts.spec.lifecycle import TRANSITIONS

CREATE = "bytedance-v1-pro-fast-image-to-video"
SEED_PROMPT_START = "A cinematic close-up sequence of a single elegant ceramic coffee cup"
SEED_IMAGE = "https://file.aiquickdraw.com/custom-page/akr/section-images/1762340693669m6sey187.webp"


def test_document_is_valid_openapi_3_0() -> None:
    document = load_spec()
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_servers_are_production_and_relative() -> None:
    urls = [server["url"] for server in load_spec()["servers"]]
    assert urls == ["https://api.apikley.ru", "/"]


def walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


def test_every_ref_resolves() -> None:
    document = load_spec()
    refs = set(walk_refs(document))
    assert len(refs) > 10
    for ref in refs:
        assert resolve_pointer(document, ref) is not None, ref


def test_every_link_targets_an_operation_and_its_parameters() -> None:
    by_id = {op.operation_id: op for op in operations()}
    links = [(op, name, link) for op in operations()
             for response in op.definition["responses"].values()
             for name, link in response.get("links", {}).items()]
    assert links, "createTask must link to Get Task Details"
    for op, name, link in links:
        target = by_id[link["operationId"]]
        names = {parameter["name"] for parameter in target.definition.get("parameters", [])}
        assert set(link["parameters"]) <= names, (op.operation_id, name)
        for expression in link["parameters"].values():
            assert expression.startswith("$response.body#/data/")


def media_examples() -> Iterator[tuple[str, dict, Any]]:
    """(where, schema, example) for every media-type and parameter example in the spec."""
    for op in operations():
        places = [("request", op.definition.get("requestBody", {}).get("content", {}))]
        places += [(f"response {status}", response.get("content", {}))
                   for status, response in op.definition["responses"].items()]
        for callback in op.definition.get("callbacks", {}).values():
            for item in callback.values():
                places.append(("callback", item["post"]["requestBody"]["content"]))
                for parameter in item["post"].get("parameters", []):
                    yield (f"{op.operation_id} callback {parameter['name']}", parameter["schema"],
                           parameter["example"])
        for where, content in places:
            for media_type, media in content.items():
                if "schema" not in media:
                    continue
                found = [("example", media["example"])] if "example" in media else []
                found += [(name, item["value"]) for name, item in media.get("examples", {}).items()]
                for name, value in found:
                    yield f"{op.operation_id} {where} {media_type} {name}", media["schema"], value
        for parameter in op.definition.get("parameters", []):
            if "example" in parameter:
                yield f"{op.operation_id} {parameter['name']}", parameter["schema"], parameter["example"]


EXAMPLES = list(media_examples())


@pytest.mark.parametrize(("where", "schema_", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(where: str, schema_: dict, example: Any) -> None:
    if schema_.get("format") == "binary":
        return
    OAS30Validator(schema_, format_checker=oas30_format_checker).validate(example)


def test_there_is_an_example_for_every_state_and_every_error_code() -> None:
    details = operation("get-task-details").definition["responses"]["200"]["content"]
    states = {example["value"]["data"]["state"] for example in details["application/json"]["examples"].values()
              if example["value"]["data"]}
    assert states == set(schema("TaskState")["enum"])
    codes = {example[2]["code"] for example in EXAMPLES
             if isinstance(example[2], dict) and "code" in example[2]}
    documented = set(schema("ApiResponse")["properties"]["code"]["enum"])
    seed_codes = {200, 401, 402, 404, 422, 429, 455, 500, 501, 505}
    assert seed_codes <= documented
    assert documented - codes <= {400, 404, 408, 433}, "family-only codes need no example"


def test_lifecycle_uses_exactly_the_spec_states() -> None:
    targets = {state for following in TRANSITIONS.values() for state in following}
    assert set(TRANSITIONS) | targets == set(schema("TaskState")["enum"])


def test_seed_facts_of_create_task_are_pinned() -> None:
    op = operation(CREATE)
    assert (op.method, op.path) == ("POST", "/api/v1/jobs/createTask")
    body = op.definition["requestBody"]
    assert body["required"] is True
    media = body["content"]["application/json"]
    root = media["schema"]
    assert root["type"] == "object" and root["required"] == ["model"]
    model = root["properties"]["model"]
    assert model["enum"] == ["bytedance/v1-pro-fast-image-to-video"]
    assert model["default"] == "bytedance/v1-pro-fast-image-to-video"
    # A URI, or empty: upstream takes "" as no callback (clients in production send it).
    assert root["properties"]["callBackUrl"] == {**root["properties"]["callBackUrl"], "type": "string",
                                                 "anyOf": [{"format": "uri"}, {"maxLength": 0}]}
    fields = root["properties"]["input"]
    assert fields["required"] == ["prompt", "image_url"]
    prompt, image, resolution, duration = (fields["properties"][name] for name in
                                           ("prompt", "image_url", "resolution", "duration"))
    assert (prompt["type"], prompt["maxLength"]) == ("string", 10000)
    assert image["type"] == "string" and "format" not in image
    assert (resolution["enum"], resolution["default"]) == (["720p", "1080p"], "720p")
    assert (duration["enum"], duration["default"]) == (["5", "10"], "5")
    example = media["example"]
    assert example["model"] == "bytedance/v1-pro-fast-image-to-video"
    assert example["callBackUrl"] == "https://your-domain.com/api/callback"
    assert example["input"]["prompt"].startswith(SEED_PROMPT_START)
    assert example["input"]["prompt"].endswith("--ar 16:9 --q 2 --style raw")
    assert example["input"]["image_url"] == SEED_IMAGE
    assert (example["input"]["resolution"], example["input"]["duration"]) == ("720p", "5")
    success = op.definition["responses"]["200"]["content"]["application/json"]["examples"]["success"]
    assert success["value"] == {"code": 200, "msg": "success",
                                "data": {"taskId": "task_bytedance_1765182752206"}}
    security = load_spec()["components"]["securitySchemes"]["BearerAuth"]
    assert (security["type"], security["scheme"]) == ("http", "bearer")
    assert load_spec()["security"] == [{"BearerAuth": []}]


def test_callback_is_declared_with_signature_headers_and_credit_fields() -> None:
    callbacks = operation(CREATE).definition["callbacks"]["taskCompleted"]
    post = callbacks["{$request.body#/callBackUrl}"]["post"]
    headers = {parameter["name"] for parameter in post["parameters"]}
    assert headers == {"X-Webhook-Timestamp", "X-Webhook-Signature"}
    payload = dereference(load_spec(), post["requestBody"]["content"]["application/json"]["schema"])
    assert payload["properties"]["code"]["enum"] == [200, 501]
    extra = payload["properties"]["data"]["allOf"][1]
    assert set(extra["required"]) == {"consumeCredits", "remainedCredits"}


def test_record_fields_carry_upstream_types() -> None:
    record = schema("TaskRecord")["properties"]
    assert record["param"]["type"] == "string"
    assert record["resultJson"]["type"] == "string" and record["resultJson"]["nullable"]
    assert record["completeTime"]["nullable"] and record["completeTime"]["minimum"] >= 10**12
    assert record["createTime"]["minimum"] >= 10**12  # milliseconds, not seconds


def test_every_operation_documents_the_errors_it_can_answer() -> None:
    api_ops = [op for op in operations() if op.path.startswith("/api/v1/")]
    assert {op.operation_id for op in api_ops} == {
        CREATE, "get-task-details", "get-account-credits", "get-download-url", "get-model-paths"}
    for op in api_ops:
        assert {"200", "401", "455", "500"} <= set(op.definition["responses"]), op.operation_id
    assert "429" in operation(CREATE).definition["responses"]
    assert "Retry-After" in operation(CREATE).definition["responses"]["429"]["headers"]
