"""The other APIs' bundled specs and their mappings: each spec valid OpenAPI 3.0, each mapping
read and checked, a broken mapping refused with the file and the problem named."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from openapi_spec_validator import validate

from contracts.apis import ApiSpecError, bundled_apis
from contracts.apis.mapping import MAPPING, api_from
from contracts.apis.records import CONTEXT_NAMES, context
from contracts.apis.templates import names, render


@pytest.mark.parametrize("name", sorted(bundled_apis()))
def test_each_bundled_spec_is_valid_openapi_and_its_mapping_names_its_operations(name: str) -> None:
    api = bundled_apis()[name]
    validate(api.document)
    assert api.path is not None and api.path.name.endswith(".yaml")
    assert str(api.document["x-apikley-source"]).startswith("https://docs.kie.ai/")  # where its facts come from
    assert datetime.date.fromisoformat(api.document["x-apikley-facts-date"]) <= datetime.date(2026, 12, 1)
    named = {*api.create, api.status.operation_id, *api.sides}
    assert named == set(api.operations)  # every operation is served, as a create, the status or a side
    for model in api.models:
        assert api.page(model).model_id == f"{name}:{model}" and api.page(model).credits is not None


def broken(change: Any) -> Any:
    document = copy.deepcopy(bundled_apis()["veo"].document)
    change(document[MAPPING], document)
    return document


@pytest.mark.parametrize(("change", "problem"), [
    (lambda mapping, document: document.pop(MAPPING), "no x-apikley-api mapping"),
    (lambda mapping, _: mapping.update(create=["nope"]), "create 'nope' is not an operation of the spec"),
    (lambda mapping, _: mapping.update(status="nope"), "status 'nope' is not an operation of the spec"),
    (lambda mapping, _: mapping.pop("side"), "operation 'veo-get-1080p-video' is neither a create"),
    (lambda mapping, _: mapping["stages"].pop("queuing"), "stages must name each of"),
    (lambda mapping, _: mapping["ids"].update(style="base64"), "ids.style must be one of"),
    (lambda mapping, _: mapping["output"].update(kind="hologram"), "output.kind must be one of"),
    (lambda mapping, _: mapping.pop("record"), "record is required"),
    (lambda mapping, _: mapping["stages"].update(success={"successFlag": 0}), "tell an ended task from a running"),
    (lambda mapping, _: mapping["record"].update(extra="$nowhere"), "the templates read $nowhere"),
])
def test_a_broken_mapping_is_refused_naming_the_problem(change: Any, problem: str) -> None:
    with pytest.raises(ApiSpecError, match=r"veo\.yaml: ") as raised:
        api_from(broken(change), "bundled:apis/veo.yaml")
    assert problem in str(raised.value)


def test_templates_read_values_pick_branches_and_repeat() -> None:
    template = {"id": "$taskId", "first": "$results.0.url", "missing": "$input.nope", "literal": "text",
                "response": {"$if": "succeeded", "then": {"urls": {"$each": "results", "do": "$result.url"}},
                             "else": None}}
    context = {"taskId": "t1", "succeeded": True, "input": {}, "results": [{"url": "a"}, {"url": "b"}]}
    assert render(template, context) == {"id": "t1", "first": "a", "missing": None, "literal": "text",
                                         "response": {"urls": ["a", "b"]}}
    assert render(template, {**context, "succeeded": False})["response"] is None
    assert names(template) == {"taskId", "results", "input", "succeeded", "result"}


def test_the_engine_gives_templates_exactly_the_names_it_promises() -> None:
    given = context(step={}, state="success", task_id="t", model="m", param="{}", created_ms=1, step_ms=2, stage_ms=2,
                    failure=None, credits=1.0, resolution="720p", results=[])
    assert set(given) == CONTEXT_NAMES
