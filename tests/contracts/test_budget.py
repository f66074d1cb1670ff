"""budget: the billable cap lives in the transport; the call past it is never sent."""

from __future__ import annotations

import json

import httpx
import pytest

from contracts.run.budget import BillableGuard, BudgetExceeded, is_billable
from contracts.spec.names import CREATE_TASK_PATH, CREDIT_PATH
from tests.contracts.test_checks import BODY

KEY = "budget-key"


def request(body: object, *, key: str = KEY, path: str = CREATE_TASK_PATH) -> httpx.Request:
    return httpx.Request("POST", f"http://mock.test{path}", content=json.dumps(body).encode(),
                         headers={"Authorization": f"Bearer {key}"})


def test_only_a_schema_valid_create_task_with_the_runs_key_is_billable() -> None:
    assert is_billable(request(BODY), KEY)
    assert not is_billable(request(BODY, key="other"), KEY)
    assert not is_billable(request({**BODY, "input": {"prompt": "x"}}), KEY)  # no image_url: refused, free
    assert not is_billable(request(BODY, path=CREDIT_PATH), KEY)


def test_the_call_past_the_cap_never_leaves_and_accepted_calls_are_counted() -> None:
    sent: list[httpx.Request] = []

    def server(incoming: httpx.Request) -> httpx.Response:
        sent.append(incoming)
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": "t"}})

    guard = BillableGuard(httpx.MockTransport(server), api_key=KEY, max_billable=2)
    with httpx.Client(transport=guard) as client:
        for _ in range(2):
            client.send(request(BODY))
        client.send(request(BODY, key="other"))  # not billable: goes through
        with pytest.raises(BudgetExceeded, match="--max-billable is 2"):
            client.send(request(BODY))
    assert len(sent) == 3 and (guard.billable_sent, guard.billable_accepted) == (2, 2)
