"""The billable-call cap, enforced where requests are sent (an httpx transport), not estimated.

Only a schema-valid createTask (or another API's create: Veo's generate, Suno's ...)
carrying the run's API key can cost credits upstream, so only those count; the one that would
pass the cap is refused before it leaves the machine. What is reported as billable is what
the server accepted (it answered a taskId): a refused call, for a wrong key or an empty
balance, cost nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import httpx

from contracts.apis import bundled_apis
from contracts.spec.names import CREATE_TASK
from contracts.spec.validators import RequestValidator, compile_operation, request_validators


class BudgetExceeded(RuntimeError):
    """A billable call was about to be sent past --max-billable."""


def is_billable(request: httpx.Request, api_key: str, accepts: Callable[[Any], bool] | None = None) -> bool:
    """A schema-valid createTask (by `accepts`, the seed model's rules by default), or a
    schema-valid create of another API (Veo's generate ...), with the key."""
    validator = request_validators()[CREATE_TASK]
    if request.method != "POST":
        return False
    other = other_creates().get(request.url.path)
    if other is None and not request.url.path.endswith(validator.operation.path):
        return False
    if request.headers.get("authorization", "").strip() != f"Bearer {api_key}":
        return False
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        return False
    return other.accepts(body) if other is not None else (accepts or validator.accepts)(body)


@functools.cache
def other_creates() -> dict[str, RequestValidator]:
    """Every other API's operations that open a task, by path (each may cost credits upstream)."""
    return {api.operations[name].path: compile_operation(api.operations[name])
            for api in bundled_apis().values() for name in api.create}


def accepted(response: httpx.Response) -> bool:
    """The server took the task: code 200 and a taskId in the envelope."""
    try:
        answer = json.loads(response.content)
    except ValueError:
        return False
    data = answer.get("data") if isinstance(answer, dict) else None
    return answer.get("code") == 200 and isinstance(data, dict) and bool(data.get("taskId"))


class BillableGuard(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, *, api_key: str, max_billable: int,
                 accepts: Callable[[Any], bool] | None = None) -> None:
        self.inner = inner
        self.accepts = accepts
        self.api_key = api_key
        self.max_billable = max_billable
        self.billable_sent = 0
        self.billable_accepted = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if not is_billable(request, self.api_key, self.accepts):
            return self.inner.handle_request(request)
        if self.billable_sent >= self.max_billable:
            raise BudgetExceeded(f"refused to send billable call #{self.billable_sent + 1}: "
                                 f"--max-billable is {self.max_billable}")
        self.billable_sent += 1
        response = self.inner.handle_request(request)
        response.read()
        if accepted(response):
            self.billable_accepted += 1
        return response

    def close(self) -> None:
        self.inner.close()
