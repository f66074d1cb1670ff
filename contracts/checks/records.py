"""Rules for tasks as the API reports them: createTask's answer, one Get Task Details record on
its own (as upstream promises it; conformance to the spec is checked separately), and two
successive records of one task (the lifecycle moves forward; an ended task never changes).
The same rules in a contract run, the proxy and recorded traffic, under the same names."""

from __future__ import annotations

import json
from typing import Any

import httpx

from contracts.checks.responses import body_of
from contracts.checks.verdicts import CheckFailed
from contracts.family.outputs import OutputSpec
from contracts.spec.lifecycle import TERMINAL, moves_forward

MILLIS = 10**12  # Unix ms are 13 digits now; seconds would be 10


def created_task_id(response: httpx.Response) -> str:
    """createTask's answer: code 200 with `data.taskId` (returned)."""
    answer = body_of(response)
    data = answer.get("data") if isinstance(answer, dict) else None
    task_id = data.get("taskId") if isinstance(data, dict) else None
    if not isinstance(answer, dict) or answer.get("code") != 200 or not isinstance(task_id, str) or not task_id:
        raise CheckFailed("code 200 with data.taskId for a valid createTask", str(answer)[:300])
    return task_id


def record_of(response: httpx.Response) -> dict[str, Any]:
    """Get Task Details' answer: code 200 with the task's record as `data` (returned)."""
    answer = body_of(response)
    record = answer.get("data") if isinstance(answer, dict) and answer.get("code") == 200 else None
    if not isinstance(record, dict):
        raise CheckFailed("the task's record", response.text[:300])
    return record


def same_task(asked: str, record: dict[str, Any]) -> None:
    if record.get("taskId") != asked:
        raise CheckFailed(f"the record of {asked}", f"taskId {record.get('taskId')!r}")


def record_rules(record: dict[str, Any], body: Any) -> None:
    """One record as upstream promises it: `param` the body sent as a JSON string, `resultJson`
    a JSON string with resultUrls on success only, failCode/failMsg on fail only, Unix-ms times
    in order, completeTime only once ended, costTime not negative."""
    state = record.get("state")
    param = record.get("param")
    if not isinstance(param, str):
        raise CheckFailed("param as a JSON string", f"{type(param).__name__}: {str(param)[:200]}")
    try:
        sent = json.loads(param)
    except ValueError as exc:
        raise CheckFailed("param holding valid JSON", repr(param[:200])) from exc
    if sent != body:
        raise CheckFailed(f"param equal to the body sent: {json.dumps(body)[:300]}", param[:300])
    result = record.get("resultJson")
    if state == "success":
        if not isinstance(result, str):
            raise CheckFailed("resultJson as a JSON string on success", f"{type(result).__name__}: {str(result)[:200]}")
        if not result_urls(record) and not result_object(record):
            raise CheckFailed('resultJson {"resultUrls": [...]} (or a text model\'s resultObject) on success',
                              result[:200])
    elif result not in (None, ""):
        raise CheckFailed(f"resultJson null while {state}", str(result)[:200])
    if state != "fail" and (record.get("failCode") not in (None, "") or record.get("failMsg") not in (None, "")):
        raise CheckFailed(f"failCode/failMsg empty while {state}",
                          f"{record.get('failCode')!r}/{record.get('failMsg')!r}")
    if state == "fail" and record.get("failCode") in (None, "") and record.get("failMsg") in (None, ""):
        raise CheckFailed("failCode or failMsg on fail", "both empty")
    created, updated, completed = (record.get(k) for k in ("createTime", "updateTime", "completeTime"))
    for name, value in (("createTime", created), ("updateTime", updated)):
        if not isinstance(value, int) or value < MILLIS:
            raise CheckFailed(f"{name} in Unix milliseconds", repr(value))
    assert isinstance(created, int) and isinstance(updated, int)
    if updated < created:
        raise CheckFailed("createTime <= updateTime", f"{created} > {updated}")
    if state in TERMINAL:
        if not isinstance(completed, int) or completed < updated:
            raise CheckFailed("completeTime (ms) >= updateTime once ended", repr(completed))
    elif completed is not None:
        raise CheckFailed(f"completeTime null while {state}", repr(completed))
    cost = record.get("costTime")
    if cost is not None and (not isinstance(cost, int | float) or cost < 0):
        raise CheckFailed("costTime >= 0", repr(cost))


def transition_rules(before: dict[str, Any], after: dict[str, Any]) -> None:
    """A later record of the same task never goes back: the state moves forward only (polls may
    skip states), an ended task's record never changes, createTime is kept and updateTime never
    decreases."""
    old, new = str(before.get("state")), str(after.get("state"))
    if not moves_forward(old, new):
        raise CheckFailed(f"a state that may follow {old!r}", repr(new))
    if old in TERMINAL and before != after:
        raise CheckFailed("an ended task's record never changing", f"{str(before)[:200]} -> {str(after)[:200]}")
    if before.get("createTime") != after.get("createTime"):
        raise CheckFailed(f"createTime {before.get('createTime')} kept", repr(after.get("createTime")))
    earlier, later = before.get("updateTime"), after.get("updateTime")
    if isinstance(earlier, int) and isinstance(later, int) and later < earlier:
        raise CheckFailed(f"updateTime >= {earlier} (the previous poll's)", str(later))


def result_urls(record: dict[str, Any]) -> list[str]:
    """The record's result URLs; none when resultJson is malformed (record_rules says why)."""
    try:
        urls = json.loads(record["resultJson"]).get("resultUrls")
    except (TypeError, ValueError, AttributeError, KeyError):
        return []
    return [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else []


def result_object(record: dict[str, Any]) -> Any:
    """A text model's `resultObject` (None when there is none)."""
    try:
        return json.loads(record["resultJson"]).get("resultObject")
    except (TypeError, ValueError, AttributeError, KeyError):
        return None


def result_set_rules(record: dict[str, Any], expected: OutputSpec) -> None:
    """A success holds what the request asked of its model: as many files as it makes, its
    first and last frames when asked for, a resultObject for a text model."""
    if not expected.files:
        if result_object(record) is None:
            raise CheckFailed("a resultObject (a text model)", str(record.get("resultJson"))[:200])
        return
    urls = result_urls(record)
    if len(urls) != expected.count:
        raise CheckFailed(f"{expected.count} result file(s)", f"{len(urls)}: {urls[:3]}")
    if expected.frames:
        found = json.loads(record["resultJson"])
        for name in ("firstFrameUrl", "lastFrameUrl"):
            if not isinstance(found.get(name), list) or not found[name]:
                raise CheckFailed(f"{name} [...] beside resultUrls (return_last_frame)", str(found.get(name))[:200])
