"""Another API's task (Veo, Suno ...) through its whole life, as one step of a run: the
probes that reveal its rules, then a task from its spec's own example, polled through its
own status endpoint, each record held to its stages, the results downloaded and checked
against what the request asks for, and its callbacks (Suno's in stages) against its spec."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from contracts.apis import Api
from contracts.checks.api_records import (
    api_callback_rules,
    api_record_rules,
    api_result_urls,
    api_transition_rules,
    ended,
    shown,
)
from contracts.checks.callbacks import Delivery, delivered
from contracts.checks.media import media_rules
from contracts.checks.records import created_task_id, record_of
from contracts.checks.responses import expect_code, random_task_id
from contracts.checks.verdicts import CheckFailed
from contracts.family.outputs import output_for
from contracts.family.pages import placeholder
from contracts.run.receiver import CallbackReceiver
from contracts.run.state import ContractRun
from contracts.spec.lifecycle import poll_delays


def example_body(api: Api, callback_url: str | None) -> dict[str, Any]:
    """The create operation's own example (else one from its schema), with our receiver."""
    create = api.operations[api.create[0]]
    media = create.definition["requestBody"]["content"]["application/json"]
    body = dict(media["example"]) if isinstance(media.get("example"), dict) else {
        name: placeholder(name, field) for name, field in create.body_schema().get("properties", {}).items()
        if name in create.body_schema().get("required", [])}
    body.pop("callBackUrl", None)
    return {**body, "callBackUrl": callback_url} if callback_url else body


def probe_api(run: ContractRun, api: Api) -> None:
    """No key: 401. An empty body: 422 (nothing created). An unknown task: the API's own "not found"."""
    create = api.operations[api.create[0]]
    response = run.api("POST", create.path, key=None, json=example_body(api, None))
    run.verify(f"{api.name}_auth", expect_code, response, 401, request=response.request)
    response = run.api("POST", create.path, json={})
    run.verify(f"{api.name}_validation", expect_code, response, 422, request=response.request)
    response = run.api("GET", api.status.path, params={"taskId": random_task_id()})
    run.verify(f"{api.name}_unknown_task", expect_code, response, 422, api.not_found, request=response.request)


def check_api_task(run: ContractRun, api: Api, receiver: CallbackReceiver | None) -> None:
    create = api.operations[api.create[0]]
    body = example_body(api, receiver.url if receiver is not None else run.options.callback_url)
    created = run.api("POST", create.path, json=body)
    task_id = run.verify(f"{api.name}_create", created_task_id, created, request=created.request).value
    if task_id is None:
        return
    final = _poll_to_the_end(run, api, task_id)
    if final is None:
        return
    again = run.api("GET", api.status.path, params={"taskId": task_id})
    run.verify(f"{api.name}_terminal_stays", _unchanged, final, again, request=again.request)
    if any(state == "success" for _, state in shown(api, final)):
        _check_results(run, api, body, final)
    if receiver is not None:
        steps = [step for state in ("waiting", "queuing", "generating", "success") for step in api.stages[state]
                 if "callback" in step] if api.staged_callbacks else [{}]
        succeeded = any(state == "success" for _, state in shown(api, final))
        deliveries = receiver.wait_for(task_id, run.options.callback_wait_seconds,
                                       at_least=len(steps) if succeeded else 1, names=_names)
        run.verify(f"{api.name}_callback_delivered", delivered, deliveries, task_id)
        for index, delivery in enumerate(deliveries):
            rule = functools.partial(api_callback_rules, last=index == len(deliveries) - 1)
            run.verify(f"{api.name}_callback", rule, api, create.operation_id, delivery, task_id, final,
                       run.options.hmac_key)


def _poll_to_the_end(run: ContractRun, api: Api, task_id: str) -> dict[str, Any] | None:
    previous: dict[str, Any] | None = None
    for delay in poll_delays(run.options.deadline_seconds):
        polled = run.api("GET", api.status.path, params={"taskId": task_id})
        found = run.verify(f"{api.name}_record_found", record_of, polled, request=polled.request)
        if not found:
            return None
        record: dict[str, Any] = found.value
        run.verify(f"{api.name}_record", api_record_rules, api, record, task_id, request=polled.request)
        if previous is not None:
            run.verify(f"{api.name}_transitions", api_transition_rules, api, previous, record, request=polled.request)
        previous = record
        run.listener("progress", f"{api.name} lifecycle", f"{task_id} {[state for _, state in shown(api, record)]}")
        if ended(api, record):
            return record
        run.waiter.wait(delay)
    run.verify(f"{api.name}_lifecycle_deadline", _never_ended, previous, run.options.deadline_seconds)
    return None


def _check_results(run: ContractRun, api: Api, body: dict[str, Any], final: dict[str, Any]) -> None:
    """Each result as the request asks for it (kind, format, size, length); each cover an image."""
    expected = output_for(api.page(api.model_of(body)), api.shaped_input(body))
    results, covers = api_result_urls(api, final)
    run.verify(f"{api.name}_result_set", _count, results, expected.count)
    for url in results:
        downloaded = run.download(url)
        run.verify(f"{api.name}_result_media", media_rules, downloaded.headers.get("content-type", ""),
                   downloaded.content, expected, request=downloaded.request)
    for url in covers:
        downloaded = run.download(url)
        run.verify(f"{api.name}_cover", _an_image, downloaded, request=downloaded.request)


def _names(delivery: Delivery, task_id: str) -> bool:
    return task_id.encode() in delivery.body


def _count(results: list[str], expected: int) -> None:
    if len(results) != expected:
        raise CheckFailed(f"{expected} result file(s)", f"{len(results)}: {results}"[:300])


def _an_image(response: httpx.Response) -> None:
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("image/"):
        raise CheckFailed("a cover image", f"HTTP {response.status_code} {response.headers.get('content-type')}")


def _unchanged(final: dict[str, Any], again: httpx.Response) -> None:
    if record_of(again) != final:
        raise CheckFailed("the ended task's record unchanged", str(record_of(again))[:300])


def _never_ended(record: dict[str, Any] | None, deadline: float) -> None:
    raise CheckFailed(f"the task to end within {deadline:g} s", str(record)[:200])
