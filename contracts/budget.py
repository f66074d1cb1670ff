"""The billable-call cap, enforced where requests are sent (an httpx transport), not estimated.

Only a schema-valid createTask carrying the run's API key can cost credits upstream, so only
those count; the one that would pass the cap is refused before it leaves the machine.
"""

from __future__ import annotations

import json

import httpx

from contracts.api import CREATE_TASK
from contracts.validators import request_validators


class BudgetExceeded(RuntimeError):
    """A billable call was about to be sent past --max-billable."""


def is_billable(request: httpx.Request, api_key: str) -> bool:
    validator = request_validators()[CREATE_TASK]
    if request.method != "POST" or not request.url.path.endswith(validator.operation.path):
        return False
    if request.headers.get("authorization", "").strip() != f"Bearer {api_key}":
        return False
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        return False
    return validator.accepts(body)


class BillableGuard(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, *, api_key: str, max_billable: int) -> None:
        self.inner = inner
        self.api_key = api_key
        self.max_billable = max_billable
        self.billable_calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if is_billable(request, self.api_key):
            if self.billable_calls >= self.max_billable:
                raise BudgetExceeded(f"refused to send billable call #{self.billable_calls + 1}: "
                                     f"--max-billable is {self.max_billable}")
            self.billable_calls += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
