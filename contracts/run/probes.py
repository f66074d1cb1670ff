"""Probes: requests that reveal one rule each, sent before a task's life is checked. The key
is accepted; no key or a wrong key answers 401 and charges nothing; bodies the page refuses
answer 422 and charge nothing; an unknown task answers `recordInfo is null`."""

from __future__ import annotations

from typing import Any

import httpx

from contracts.checks.responses import body_of, expect_code, random_task_id
from contracts.checks.verdicts import CheckFailed
from contracts.family.pages import ModelPage
from contracts.run.state import ContractRun
from contracts.spec.names import CREATE_TASK_PATH, CREDIT_PATH, TASK_DETAILS_PATH

KEY_REFUSED = ("every request with --api-key was refused for auth (code 401); check the key. "
               "The run stopped: no other check can pass without it.")


def probe_key(run: ContractRun) -> bool:
    """The run's key is accepted; with a refused key every other check would only report 401s."""
    response = run.api("GET", CREDIT_PATH)
    return bool(run.verify("api_key", _key_accepted, response, request=response.request))


def _key_accepted(response: httpx.Response) -> None:
    answer = body_of(response)
    if isinstance(answer, dict) and answer.get("code") == 401:
        raise CheckFailed("the server to accept --api-key", KEY_REFUSED)


def model_body(page: ModelPage, callback_url: str | None) -> dict[str, Any]:
    """The model page's own createTask example (for the seed, the bundled spec's), with our
    receiver as callBackUrl (or none)."""
    body = {key: value for key, value in page.example_body().items() if key != "callBackUrl"}
    return {**body, "callBackUrl": callback_url} if callback_url else body


def probe_auth(run: ContractRun) -> None:
    """No key or a wrong key: code 401, nothing created or charged. Also learns the server's
    status policy (HTTP 401 here means it mirrors codes as HTTP statuses)."""
    body = model_body(run.catalogue.default, None)
    before = credits(run)
    for key in (None, "wrong-" + random_task_id()):
        response = run.api("POST", CREATE_TASK_PATH, key=key, json=body)
        run.verify("auth", expect_code, response, 401, request=response.request)
        run.mirrors_statuses = response.status_code == 401
    run.verify("auth_charges_nothing", _unchanged, before, credits(run))


INVALID_BODIES: dict[str, dict[str, Any]] = {
    "resolution 480p": {"input": {"prompt": "x", "image_url": "https://example.com/a.png", "resolution": "480p"}},
    "missing image_url": {"input": {"prompt": "x"}},
    "prompt of 10001 characters": {"input": {"prompt": "x" * 10001, "image_url": "https://example.com/a.png"}},
    "callBackUrl not a URI": {"callBackUrl": "not a uri", "input": {"prompt": "x",
                                                                     "image_url": "https://example.com/a.png"}},
}


def probe_validation(run: ContractRun) -> None:
    """Bodies each checked model's page refuses answer 422 and charge nothing: the seed's own
    list, and for other models a missing required field, a value outside an enum, a wrong type."""
    before = credits(run)
    for page in run.pages:
        if page is run.catalogue.default:
            bodies = [{"model": page.model_id, **fields} for fields in INVALID_BODIES.values()]
        else:
            bodies = invalid_bodies(page)
        for body in bodies:
            response = run.api("POST", CREATE_TASK_PATH, json=body)
            run.verify("validation", expect_code, response, 422, request=response.request)
    run.verify("validation_charges_nothing", _unchanged, before, credits(run))


def invalid_bodies(page: ModelPage) -> list[dict[str, Any]]:
    """Bodies `page` refuses, derived from its input schema."""
    valid = page.example_body()
    given = dict(valid.get("input", {}))
    fields = page.input_schema.get("properties", {})
    bodies = []
    for name in page.input_schema.get("required", [])[:1]:
        bodies.append({**valid, "input": {key: value for key, value in given.items() if key != name}})
    for name, field in fields.items():
        if field.get("enum"):
            bodies.append({**valid, "input": {**given, name: "not-one-of-the-enum"}})
            break
    for name, field in fields.items():
        if field.get("type") in ("string", "integer", "boolean"):
            wrong = 12345 if field["type"] == "string" else "not-a-" + field["type"]
            bodies.append({**valid, "input": {**given, name: wrong}})
            break
    return bodies


def probe_unknown_task(run: ContractRun) -> None:
    response = run.api("GET", TASK_DETAILS_PATH, params={"taskId": random_task_id()})
    run.verify("unknown_task", expect_code, response, 422, "recordInfo is null", request=response.request)


def credits(run: ContractRun) -> Any:
    """The key's balance, or None when the answer does not say (the probes then compare None)."""
    answer = run.plain.get(CREDIT_PATH, headers={"Authorization": f"Bearer {run.options.api_key}"})
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("data") if isinstance(body, dict) and body.get("code") == 200 else None


def _unchanged(before: Any, after: Any) -> None:
    if before != after:
        raise CheckFailed("the balance unchanged by rejected requests", f"{before} -> {after}")
