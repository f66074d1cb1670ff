"""Everyday traffic as contract evidence: each exchange between an application and the API
(live through the proxy, or recorded) is held to the checks a contract run makes, and the
successive polls of one task to the lifecycle. Findings are the contract toolkit's own
`Failure`s, with a reproducer whose API key is replaced by `$APIKLEY_API_KEY`.

Nothing here sends a request: it only reads what passed by.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from contracts.api import API_PREFIX, CREATE_TASK_PATH, TASK_DETAILS_PATH
from contracts.checks import RESPONSE_CHECKS, CheckFailed
from contracts.lifecycle import TERMINAL, moves_forward
from contracts.receiver import Delivery
from contracts.recorded import Exchange
from contracts.report import Failure, Report, curl
from contracts.tasks import callback_rules, record_rules

TASKS_REMEMBERED = 100_000  # a long session: the oldest tasks are forgotten, not the memory


def bearer_key(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, key = value.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def is_html(exchange: Exchange) -> bool:
    """An edge server's error page, not the API's JSON."""
    content_type = exchange.response_headers.get("content-type", "").lower()
    return "text/html" in content_type or exchange.response_body.lstrip()[:1] == b"<"


class TrafficChecks:
    """One at a time, in the order the exchanges happened (the proxy's checker process, or a
    recording read in order): a task's polls are compared with the one before."""

    def __init__(self, report: Report | None = None, *, hmac_key: str | None = None,
                 on_finding: Callable[[Failure], None] = lambda failure: None) -> None:
        self.report = report or Report()
        self._hmac_key = hmac_key
        self._on_finding = on_finding
        self._sent: OrderedDict[str, Any] = OrderedDict()  # taskId -> the createTask body sent
        self._last: OrderedDict[str, dict[str, Any]] = OrderedDict()  # taskId -> the newest record seen

    # -- what passed by --------------------------------------------------------------------

    def exchange(self, exchange: Exchange) -> None:
        """Every check for one API exchange: envelope, status policy, spec, then lifecycle."""
        if not urlsplit(exchange.url).path.startswith(API_PREFIX):
            return
        request = exchange.request()
        response = httpx.Response(exchange.status, headers=exchange.response_headers,
                                  content=exchange.response_body, request=request)
        reproducer = curl(request, bearer_key(exchange.request_headers))
        if is_html(exchange):
            snippet = exchange.response_body[:120].decode("utf-8", "replace")
            self._found(Failure("upstream_html", "the API's JSON envelope",
                                f"HTTP {exchange.status} HTML page: {snippet!r}", reproducer))
            return
        for name, check in RESPONSE_CHECKS.items():
            self._verify(name, reproducer, check, response)
        self.lifecycle(exchange, reproducer)

    def lifecycle(self, exchange: Exchange, reproducer: str | None = None) -> None:
        """A createTask remembered by its task id; a record checked on its own and against the
        body sent and the task's previous record."""
        path = urlsplit(exchange.url).path
        answer = _json(exchange.response_body)
        if not isinstance(answer, dict) or answer.get("code") != 200 or not isinstance(answer.get("data"), dict):
            return
        reproducer = reproducer or curl(exchange.request(), bearer_key(exchange.request_headers))
        data = answer["data"]
        if exchange.method == "POST" and path == CREATE_TASK_PATH and isinstance(data.get("taskId"), str):
            _remember(self._sent, data["taskId"], _json(exchange.request_body))
        elif exchange.method == "GET" and path == TASK_DETAILS_PATH:
            asked = parse_qs(urlsplit(exchange.url).query).get("taskId", [""])[-1]
            self.record(asked, data, reproducer)

    def record(self, asked: str, record: dict[str, Any], reproducer: str) -> None:
        sent = self._sent.get(asked)
        before = self._last.get(asked)
        _remember(self._last, asked, record)
        self._verify("record_task_id", reproducer, _same_task, asked, record)
        body = sent if sent is not None else _json(record.get("param"))  # unknown: param against itself
        self._verify("record", reproducer, record_rules, record, body)
        if before is not None:
            self._verify("lifecycle_transition", reproducer, _transition, before, record)

    def callback(self, headers: dict[str, str], body: bytes, reproducer: str) -> None:
        """A delivered callback: the spec's CallbackPayload, its signature (with a key), and
        agreement with the task's last record when that record was final."""
        payload = _json(body)
        data = payload.get("data") if isinstance(payload, dict) else None
        task_id = data.get("taskId") if isinstance(data, dict) else None
        last = self._last.get(task_id) if isinstance(task_id, str) else None
        final = last if last is not None and last.get("state") in TERMINAL else None
        if final is None and isinstance(data, dict) and last is not None:
            self._verify("lifecycle_transition", reproducer, _transition, last, data)
        record = final or (data if isinstance(data, dict) else {"state": "?", "taskId": task_id})
        delivery = Delivery({k.lower(): v for k, v in headers.items()}, body)
        self._verify("callback", reproducer, callback_rules, delivery, record, self._hmac_key)

    def fault(self, kind: str, expected: str, got: str, reproducer: str) -> None:
        """The upstream failed to answer (timeout, TLS, connection): a finding of its own kind."""
        self._found(Failure(kind, expected, got, reproducer))

    # -- bookkeeping -----------------------------------------------------------------------

    def _verify(self, name: str, reproducer: str, check: Callable[..., None], *args: Any) -> None:
        try:
            check(*args)
        except CheckFailed as failed:
            self._found(Failure(name, failed.expected, failed.got, reproducer))
        else:
            self.report.passed[name] += 1

    def _found(self, failure: Failure) -> None:
        self.report.failures.append(failure)
        self._on_finding(failure)


def _same_task(asked: str, record: dict[str, Any]) -> None:
    if record.get("taskId") != asked:
        raise CheckFailed(f"the record of {asked}", f"taskId {record.get('taskId')!r}")


def _transition(before: dict[str, Any], after: dict[str, Any]) -> None:
    """A later record never goes back: state forward only, a terminal state stays, times hold."""
    if not moves_forward(str(before.get("state")), str(after.get("state"))):
        raise CheckFailed(f"a state that may follow {before.get('state')!r}", repr(after.get("state")))
    if before.get("createTime") != after.get("createTime"):
        raise CheckFailed(f"createTime {before.get('createTime')} kept", repr(after.get("createTime")))
    earlier, later = before.get("updateTime"), after.get("updateTime")
    if isinstance(earlier, int) and isinstance(later, int) and later < earlier:
        raise CheckFailed(f"updateTime >= {earlier} (the previous poll's)", str(later))


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str | bytes) and raw else None
    except ValueError:
        return None


def _remember(table: OrderedDict[str, Any], key: str, value: Any) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > TASKS_REMEMBERED:
        table.popitem(last=False)
