"""Public Hypothesis strategies for this API, derived from the bundled spec.

    >>> from hypothesis import given
    >>> from contracts import strategies
    >>> @given(strategies.task_records(state="success"))
    ... def test_my_parser(record):
    ...     assert my_client.parse(record).video_urls

Schemas come from the spec (schemathesis generates from them); what the schema cannot say
(a success has `resultUrls`, a failure a `failCode`, times in order, `param` holding the body)
is applied on top, as upstream behaves.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from contracts.apis import Api, api_named
from contracts.apis.records import context, result
from contracts.apis.templates import render
from contracts.family.catalogue import ModelCatalogue
from contracts.family.outputs import output_for
from contracts.spec.document import load_spec
from contracts.spec.lifecycle import TERMINAL, TRANSITIONS
from contracts.spec.names import CREATE_TASK, CREATE_TASK_PATH, callback_envelope
from contracts.spec.validators import compile_operation, request_validators

SYNTHETIC = "/__strategies__/{name}"


@functools.cache
def _schema() -> Any:
    """The bundled spec plus one synthetic operation per component schema we generate, so
    schemathesis' generator (which makes requests) can make instances of them."""
    document = json.loads(json.dumps(load_spec()))
    for name in ("TaskRecord", "CallbackPayload"):
        document["paths"][SYNTHETIC.format(name=name)] = {"post": {
            "operationId": f"generate-{name}", "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"}}}},
            "responses": {"200": {"description": "synthetic"}}}}
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config())


def _bodies(path: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    strategy: st.SearchStrategy[Any] = _schema()[path]["POST"].as_strategy(generation_mode=mode)
    return strategy.map(lambda case: case.body)


def create_task_bodies(*, valid: bool = True, model: str | None = None,
                       model_specs: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """createTask bodies the spec accepts (`valid=True`) or rejects (`valid=False`); for the
    seed model, or `model` from the pages under `model_specs` (generated from its own page)."""
    if model is None:
        if valid:
            return _bodies(CREATE_TASK_PATH, GenerationMode.POSITIVE)
        return _bodies(CREATE_TASK_PATH, GenerationMode.NEGATIVE).filter(
            lambda body: not isinstance(body, bytes) and not request_validators()[CREATE_TASK].accepts(body))
    catalogue = _catalogue(model_specs)
    if model not in catalogue.pages:
        raise ValueError(f"model {model!r} is not loaded; loaded: {list(catalogue.pages)}")
    page = catalogue.pages[model]
    operation = schemathesis.openapi.from_dict(page.document, config=schemathesis.Config())[CREATE_TASK_PATH]["POST"]
    mode = GenerationMode.POSITIVE if valid else GenerationMode.NEGATIVE
    bodies: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode).map(lambda case: case.body)
    return bodies.filter(lambda body: not isinstance(body, bytes) and catalogue.accepts(body) is valid)


@functools.cache
def _catalogue(model_specs: tuple[str, ...]) -> ModelCatalogue:
    return ModelCatalogue.load(model_specs)


@st.composite
def task_records(draw: st.DrawFn, state: str | None = None) -> dict[str, Any]:
    """A Get Task Details `data` record in `state` (any state when None), consistent as
    upstream's are: param holds a valid body, resultJson only on success, failCode/failMsg
    only on fail, Unix-ms times in order, completeTime only once ended."""
    chosen = state if state is not None else draw(st.sampled_from(sorted(TRANSITIONS)))
    if chosen not in TRANSITIONS:
        raise ValueError(f"state must be one of {sorted(TRANSITIONS)}")
    record = dict(draw(_bodies(SYNTHETIC.format(name="TaskRecord"), GenerationMode.POSITIVE)) or {})
    body = draw(create_task_bodies())
    created = draw(st.integers(1_600_000_000_000, 2_000_000_000_000))
    updated = created + draw(st.integers(0, 600_000))
    ended = chosen in TERMINAL
    record.update({
        "taskId": draw(st.from_regex(r"task_bytedance_[0-9]{13}", fullmatch=True)),
        "model": body["model"], "state": chosen, "param": json.dumps(body),
        "resultJson": json.dumps({"resultUrls": [f"https://file.example.com/r/{created}.mp4"]})
        if chosen == "success" else None,
        "failCode": draw(st.sampled_from(["500", "501", 500])) if chosen == "fail" else None,
        "failMsg": draw(st.text(min_size=1, max_size=80)) if chosen == "fail" else None,
        "costTime": (updated - created) // 1000 if ended else None,
        "createTime": created, "updateTime": updated, "completeTime": updated if ended else None,
    })
    if "creditsConsumed" in record and chosen == "fail":
        record["creditsConsumed"] = 0
    return record


@st.composite
def callback_payloads(draw: st.DrawFn, state: str | None = None) -> dict[str, Any]:
    """A callback body as the spec declares it, for a task that ended in `state`."""
    chosen = state if state is not None else draw(st.sampled_from(sorted(TERMINAL)))
    if chosen not in TERMINAL:
        raise ValueError(f"a callback is sent for an ended task: state must be one of {sorted(TERMINAL)}")
    record = draw(task_records(chosen))
    consumed = draw(st.floats(0, 1000, allow_nan=False)) if chosen == "success" else 0
    record.update({"creditsConsumed": consumed, "consumeCredits": consumed,
                   "remainedCredits": draw(st.floats(0, 1e6, allow_nan=False))})
    code, msg = callback_envelope(chosen)
    return {"code": code, "msg": msg, "data": record}


# --- the family's other APIs (Veo, Suno ...): from their specs, shaped by their mappings ------

def api_bodies(api: str, *, valid: bool = True, operation: str | None = None) -> st.SearchStrategy[Any]:
    """Bodies of another API's create (`operation`, its first by default) its spec accepts
    (`valid=True`) or rejects."""
    found = api_named(api)
    chosen = found.operations[operation or found.create[0]]
    generated = schemathesis.openapi.from_dict(found.document, config=schemathesis.Config())[chosen.path]
    mode = GenerationMode.POSITIVE if valid else GenerationMode.NEGATIVE
    validator = compile_operation(chosen)
    bodies: st.SearchStrategy[Any] = generated[chosen.method].as_strategy(generation_mode=mode).map(
        lambda case: case.body)
    return bodies.filter(lambda body: not isinstance(body, bytes) and validator.accepts(body) is valid)


@st.composite
def api_records(draw: st.DrawFn, api: str, state: str | None = None) -> dict[str, Any]:
    """Another API's status `data` for a task in `state` (any when None), rendered from its
    mapping as its service shows it: the step's own values (`successFlag`, Suno's `status`),
    results only once ready, the API's failure once failed, Unix-ms times in order."""
    found = api_named(api)
    return dict(render(found.record, draw(_api_context(found, state))))


@st.composite
def api_callbacks(draw: st.DrawFn, api: str, state: str | None = None) -> dict[str, Any]:
    """A callback body of another API for a task that ended in `state` (its mapping's shape)."""
    found = api_named(api)
    chosen = state if state is not None else draw(st.sampled_from(sorted(TERMINAL)))
    if chosen not in TERMINAL:
        raise ValueError(f"a callback is sent for an ended task: state must be one of {sorted(TERMINAL)}")
    return dict(render(found.callback, draw(_api_context(found, chosen))))


@st.composite
def _api_context(draw: st.DrawFn, api: Api, state: str | None) -> dict[str, Any]:
    chosen = state if state is not None else draw(st.sampled_from(sorted(TRANSITIONS)))
    if chosen not in TRANSITIONS:
        raise ValueError(f"state must be one of {sorted(TRANSITIONS)}")
    step = draw(st.sampled_from(api.stages[chosen]))
    body = draw(api_bodies(api.name))
    output = output_for(api.page(api.model_of(body)), api.shaped_input(body))
    digits = draw(st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
    task_id = api.id_prefix + (f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
                               if api.id_style == "uuid" else digits)
    created = draw(st.integers(1_600_000_000_000, 2_000_000_000_000))
    stage = created + draw(st.integers(0, 600_000))
    ready = step.get("ready", output.count if chosen == "success" else 0)
    files = "https://tempfile.aiquickdraw.com/r/" + task_id
    results = [result(f"{files}_{index}.{output.extension}", cover=f"{files}_{index}.png" if api.covers else None,
                      index=index, result_id=str(uuid.UUID(digits[:24] + f"{index:08x}")), seconds=output.seconds,
                      ready=index < ready) for index in range(output.count)]
    price = api.page(api.model_of(body)).credits
    return context(step=step, state=chosen, task_id=task_id, model=api.model_of(body), param=json.dumps(body),
                   created_ms=created, step_ms=stage + draw(st.integers(0, 60_000)), stage_ms=stage,
                   failure=api.failure, credits=float(price) if isinstance(price, int | float) else 0.0,
                   resolution=output.resolution, results=results)
