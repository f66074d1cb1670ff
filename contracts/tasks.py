"""What generic tools skip: a task's whole life. Create it, poll on the upstream back-off
schedule, check every record and every transition, download the result, check the callback."""

from __future__ import annotations

import hmac
import json
from typing import Any

from contracts.api import CREATE_TASK_PATH, SIGNATURE_HEADER, TASK_DETAILS_PATH, TIMESTAMP_HEADER, sign_callback
from contracts.checks import CheckFailed, body_of
from contracts.lifecycle import TERMINAL, moves_forward, poll_delays
from contracts.media import media_rules
from contracts.models import ModelPage
from contracts.outputs import output_for
from contracts.receiver import CallbackReceiver, Delivery
from contracts.run import ContractRun
from contracts.spec import schema
from contracts.validators import RequestInvalid, compile_schema

MILLIS = 10**12  # Unix ms are 13 digits now; seconds would be 10


def record_rules(record: dict[str, Any], body: dict[str, Any]) -> None:
    """One record as upstream promises it (spec conformance is checked separately)."""
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
        if not result_urls(record):
            raise CheckFailed('resultJson {"resultUrls": [...]} on success', result[:200])
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


def callback_rules(delivery: Delivery, record: dict[str, Any], hmac_key: str | None) -> None:
    try:
        payload = delivery.json()
    except ValueError as exc:
        raise CheckFailed("a JSON callback body", repr(delivery.body[:200])) from exc
    try:
        compile_schema(schema("CallbackPayload")).check(payload, "callback")
    except RequestInvalid as exc:
        raise CheckFailed("a callback the spec's CallbackPayload allows", str(exc)) from exc
    expected_code = 200 if record["state"] == "success" else 501
    if payload["code"] != expected_code:
        raise CheckFailed(f"callback code {expected_code} for a task in {record['state']}", str(payload["code"]))
    differing = {key: payload["data"].get(key) for key in record if payload["data"].get(key) != record[key]}
    if differing:
        raise CheckFailed("callback data equal to the final record", json.dumps(differing)[:400])
    if hmac_key is not None:
        timestamp = delivery.headers.get(TIMESTAMP_HEADER.lower(), "")
        given = delivery.headers.get(SIGNATURE_HEADER.lower(), "")
        expected = sign_callback(hmac_key, record["taskId"], timestamp)
        if not timestamp.isdigit() or not hmac.compare_digest(given, expected):
            raise CheckFailed(f"{SIGNATURE_HEADER} = base64(HMAC-SHA256(key, taskId.timestamp))",
                              f"timestamp {timestamp!r}, signature {given!r}")


def check_task(run: ContractRun, body: dict[str, Any], receiver: CallbackReceiver | None,
               page: ModelPage | None = None) -> None:
    """One task of `page`'s model (the seed's by default) from creation to its end, checking
    everything on the way, its result against what the model page promises."""
    expected = output_for(page or run.catalogue.default, body.get("input", {}))
    created = run.api("POST", CREATE_TASK_PATH, json=body)
    answer = body_of(created)
    task_id = answer.get("data", {}).get("taskId") if isinstance(answer, dict) and answer.get("data") else None
    if not run.verify("create_task", _created, answer, task_id, request=created.request):
        return
    assert isinstance(task_id, str)
    previous: dict[str, Any] | None = None
    for delay in poll_delays(run.options.deadline_seconds):
        polled = run.api("GET", TASK_DETAILS_PATH, params={"taskId": task_id})
        record = (body_of(polled) or {}).get("data")
        if not run.verify("record_found", _found, polled, record, request=polled.request):
            return
        assert isinstance(record, dict)
        run.verify("record_fields", record_rules, record, body, request=polled.request)
        if previous is not None:
            run.verify("transitions", _forward, previous, record, request=polled.request)
        previous = record
        run.listener("progress", "lifecycle", f"{task_id} {record['state']}")
        if record["state"] in TERMINAL:
            break
        run.waiter.wait(delay)
    else:
        run.verify("lifecycle_deadline", _never_ended, previous, run.options.deadline_seconds)
        return
    final = record
    again = body_of(run.api("GET", TASK_DETAILS_PATH, params={"taskId": task_id})).get("data")
    run.verify("terminal_stays", _same, final, again)
    if final["state"] == "success":
        for url in result_urls(final):
            downloaded = run.download(url)
            run.verify("result_media", media_rules, downloaded.headers.get("content-type", ""),
                       downloaded.content, expected, request=downloaded.request)
    if receiver is not None:
        deliveries = receiver.wait_for(task_id, run.options.callback_wait_seconds)
        run.verify("callback_delivered", _delivered, deliveries, task_id)
        for delivery in deliveries:
            run.verify("callback", callback_rules, delivery, final, run.options.hmac_key)


def result_urls(record: dict[str, Any]) -> list[str]:
    """The record's result URLs; none when resultJson is malformed (record_fields says why)."""
    try:
        urls = json.loads(record["resultJson"]).get("resultUrls")
    except (TypeError, ValueError, AttributeError):
        return []
    return [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else []


def _created(answer: Any, task_id: Any) -> None:
    if not isinstance(answer, dict) or answer.get("code") != 200 or not isinstance(task_id, str):
        raise CheckFailed("code 200 with data.taskId for a valid createTask", str(answer)[:300])


def _found(response: Any, record: Any) -> None:
    if not isinstance(record, dict):
        raise CheckFailed("the task's record", response.text[:300])


def _forward(previous: dict[str, Any], record: dict[str, Any]) -> None:
    before, after = previous["state"], record["state"]
    if not moves_forward(before, after):
        raise CheckFailed(f"a legal move from {before!r}", f"{before!r} -> {after!r}")
    if before in TERMINAL and previous != record:
        raise CheckFailed("an ended task's record never changing", f"{previous} -> {record}")


def _never_ended(record: dict[str, Any] | None, deadline: float) -> None:
    state = record.get("state") if record else None
    raise CheckFailed(f"the task to end within {deadline:g} s", f"still {state!r}")


def _same(final: dict[str, Any], again: Any) -> None:
    if again != final:
        raise CheckFailed("the ended task's record unchanged", str(again)[:300])


def _delivered(deliveries: list[Delivery], task_id: str) -> None:
    if not deliveries:
        raise CheckFailed(f"a callback for {task_id} at the receiver", "none arrived")
