"""What generic tools skip: a task's whole life, as one step of a run. Create it, poll on the
upstream back-off schedule, hold every record and every transition to the rules, download
the results, check the callback. Every answer is read inside a rule (`ContractRun.verify`):
an answer the run cannot read is a failure in the report, and the task's check ends there."""

from __future__ import annotations

from typing import Any

import httpx

from contracts.checks.callbacks import callback_rules, delivered
from contracts.checks.media import media_rules
from contracts.checks.records import (
    created_task_id,
    record_of,
    record_rules,
    result_set_rules,
    result_urls,
    same_task,
    transition_rules,
)
from contracts.checks.verdicts import CheckFailed
from contracts.family.outputs import output_for
from contracts.family.pages import ModelPage
from contracts.run.receiver import CallbackReceiver
from contracts.run.state import ContractRun
from contracts.spec.lifecycle import TERMINAL, poll_delays
from contracts.spec.names import CREATE_TASK_PATH, TASK_DETAILS_PATH


def check_task(run: ContractRun, body: dict[str, Any], receiver: CallbackReceiver | None,
               page: ModelPage | None = None) -> None:
    """One task of `page`'s model (the seed's by default) from creation to its end, checking
    everything on the way, its result against what the model page promises."""
    expected = output_for(page or run.catalogue.default, body.get("input", {}))
    created = run.api("POST", CREATE_TASK_PATH, json=body)
    task_id = run.verify("create_task", created_task_id, created, request=created.request).value
    if task_id is None:
        return
    final = poll_to_the_end(run, task_id, body)
    if final is None:
        return
    again = run.api("GET", TASK_DETAILS_PATH, params={"taskId": task_id})
    run.verify("terminal_stays", _unchanged, final, again, request=again.request)
    if final.get("state") == "success":
        run.verify("result_set", result_set_rules, final, expected, request=again.request)
        for url in result_urls(final):
            downloaded = run.download(url)
            run.verify("result_media", media_rules, downloaded.headers.get("content-type", ""),
                       downloaded.content, expected, request=downloaded.request)
    if receiver is not None:
        deliveries = receiver.wait_for(task_id, run.options.callback_wait_seconds)
        run.verify("callback_delivered", delivered, deliveries, task_id)
        for delivery in deliveries:
            run.verify("callback", callback_rules, delivery, final, run.options.hmac_key)


def poll_to_the_end(run: ContractRun, task_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Poll until the task ends (its final record) or the deadline passes (None); every record
    is checked on its own and against the one before."""
    previous: dict[str, Any] | None = None
    for delay in poll_delays(run.options.deadline_seconds):
        polled = run.api("GET", TASK_DETAILS_PATH, params={"taskId": task_id})
        found = run.verify("record_found", record_of, polled, request=polled.request)
        if not found:
            return None
        record: dict[str, Any] = found.value
        run.verify("record_task_id", same_task, task_id, record, request=polled.request)
        run.verify("record_fields", record_rules, record, body, request=polled.request)
        if previous is not None:
            run.verify("transitions", transition_rules, previous, record, request=polled.request)
        previous = record
        run.listener("progress", "lifecycle", f"{task_id} {record.get('state')}")
        if record.get("state") in TERMINAL:
            return record
        run.waiter.wait(delay)
    run.verify("lifecycle_deadline", _never_ended, previous, run.options.deadline_seconds)
    return None


def _unchanged(final: dict[str, Any], again: httpx.Response) -> None:
    record = record_of(again)
    if record != final:
        raise CheckFailed("the ended task's record unchanged", str(record)[:300])


def _never_ended(record: dict[str, Any] | None, deadline: float) -> None:
    state = record.get("state") if record else None
    raise CheckFailed(f"the task to end within {deadline:g} s", f"still {state!r}")
