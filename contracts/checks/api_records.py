"""Rules for another API's tasks (Veo, Suno ...), read from its mapping (contracts.apis): a
record shows one of the API's stages, names its task, moves forward and never changes once
ended; its result URLs are where its record template puts them; a callback is the one its
spec declares, for this task, and (with a key) signed. Conformance to the API's spec is
checked separately, as for the market API."""

from __future__ import annotations

import functools
import hmac
from typing import Any

from contracts.apis import Api
from contracts.checks.callbacks import Delivery
from contracts.checks.verdicts import CheckFailed
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.names import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from contracts.spec.validators import CompiledSchema, RequestInvalid, compile_schema

ORDER = ("waiting", "queuing", "generating", "success", "fail")  # success and fail are both last
RESULT_VALUES = ("resultUrls", "resultUrl", "result.url", "result.cover", "results.")


def shown(api: Api, record: dict[str, Any]) -> list[tuple[int, str]]:
    """The (rank, state) steps `record` can be showing: those whose values its top-level
    fields carry (`successFlag: 0` is waiting, queuing or generating for Veo)."""
    found = []
    rank = 0
    for state in ORDER:
        for step in api.stages[state]:
            bound = {field: step[name[1:]] for field, name in api.record.items()
                     if isinstance(name, str) and name.startswith("$") and name[1:] in step}
            if all(record.get(field) == value for field, value in bound.items()):
                found.append((len(ORDER) if state in TERMINAL else rank, state))
            rank += 1
    return found


def api_record_rules(api: Api, record: dict[str, Any], task_id: str) -> None:
    if not shown(api, record):
        raise CheckFailed(f"a record showing one of {api.title}'s stages", str(record)[:300])
    named = [field for field, value in api.record.items() if value == "$taskId"]
    for field in named:
        if record.get(field) != task_id:
            raise CheckFailed(f"{field} {task_id!r}", repr(record.get(field)))


def ended(api: Api, record: dict[str, Any]) -> bool:
    steps = shown(api, record)
    return bool(steps) and all(state in TERMINAL for _, state in steps)


def api_transition_rules(api: Api, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The lifecycle only moves forward; an ended task's record never changes."""
    if ended(api, before):
        if after != before:
            raise CheckFailed("an ended task's record unchanged", str(after)[:300])
        return
    latest = max((rank for rank, _ in shown(api, before)), default=0)
    furthest = max((rank for rank, _ in shown(api, after)), default=0)
    if furthest < latest:
        raise CheckFailed("the lifecycle to move forward", f"{before} -> {after}"[:300])


def api_result_urls(api: Api, record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(results, covers): the URLs the record holds where its template puts results."""
    results: list[str] = []
    covers: list[str] = []
    _collect(api.record, record, results, covers)
    return list(dict.fromkeys(results)), list(dict.fromkeys(covers))


def _collect(template: Any, value: Any, results: list[str], covers: list[str]) -> None:
    if isinstance(template, str):
        if template.startswith("$") and template[1:].startswith(RESULT_VALUES):
            target = covers if template.endswith("cover") else results
            urls = value if isinstance(value, list) else [value]
            target += [url for url in urls if isinstance(url, str) and url.startswith("http")]
    elif isinstance(template, dict) and "$if" in template:
        for branch in ("then", "else"):
            _collect(template.get(branch), value, results, covers)
    elif isinstance(template, dict) and "$each" in template:
        for item in value if isinstance(value, list) else []:
            _collect(template["do"], item, results, covers)
    elif isinstance(template, dict) and isinstance(value, dict):
        for key, part in template.items():
            _collect(part, value.get(key), results, covers)


def api_callback_rules(api: Api, operation_id: str, delivery: Delivery, task_id: str, final: dict[str, Any],
                       hmac_key: str | None, *, last: bool = True) -> None:
    """`last`: the task's final callback (Suno's stages before it report success so far)."""
    try:
        payload = delivery.json()
    except ValueError as exc:
        raise CheckFailed("a JSON callback body", repr(delivery.body[:200])) from exc
    try:
        _callback_validator(api, operation_id).check(payload, "callback")
    except RequestInvalid as exc:
        raise CheckFailed(f"a callback {api.title}'s spec allows", str(exc)) from exc
    if task_id not in _strings(payload):
        raise CheckFailed(f"a callback naming task {task_id}", str(payload)[:300])
    succeeded = any(state == "success" for _, state in shown(api, final))
    if last and succeeded != (payload.get("code") == 200):
        raise CheckFailed(f"code 200 exactly when the task succeeded ({'it did' if succeeded else 'it did not'})",
                          str(payload.get("code")))
    if hmac_key is not None:
        timestamp = delivery.headers.get(TIMESTAMP_HEADER.lower(), "")
        given = delivery.headers.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp.isdigit() or not hmac.compare_digest(given, sign_callback(hmac_key, task_id, timestamp)):
            raise CheckFailed(f"{SIGNATURE_HEADER} = base64(HMAC-SHA256(key, taskId.timestamp))",
                              f"timestamp {timestamp!r}, signature {given!r}")


def callback_schema(api: Api, operation_id: str) -> dict[str, Any]:
    """The callback body schema the create operation declares (its `callbacks`)."""
    callbacks = api.operations[operation_id].definition.get("callbacks", {})
    for expressions in callbacks.values():
        for item in expressions.values():
            found: dict[str, Any] = item["post"]["requestBody"]["content"]["application/json"]["schema"]
            return found
    return {}


@functools.cache
def _callback_validator(api: Api, operation_id: str) -> CompiledSchema:
    return compile_schema(callback_schema(api, operation_id))


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(item) for item in value))
    return set()
