"""Everyday traffic as contract evidence: each exchange between an application and the API
(live through the proxy, or recorded) is held to the rules a contract run applies, under the
same names, and the successive polls of one task to the lifecycle. Findings are the toolkit's
own `Failure`s, with a reproducer whose API key is replaced by `$APIKLEY_API_KEY`.

Nothing here sends a request: it only reads what passed by.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from contracts.checks.callbacks import Delivery, callback_rules
from contracts.checks.records import record_rules, same_task, transition_rules
from contracts.checks.report import Failure, Report, curl
from contracts.checks.requests import request_rules
from contracts.checks.responses import RESPONSE_CHECKS
from contracts.checks.verdicts import Verdicts
from contracts.spec.lifecycle import TERMINAL
from contracts.spec.names import API_PREFIX, CREATE_TASK_PATH, TASK_DETAILS_PATH
from contracts.traffic.exchanges import Exchange

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
                 on_finding: Callable[[Failure], None] | None = None) -> None:
        self.verdicts = Verdicts(report, on_failure=on_finding)
        self.report = self.verdicts.report
        self._hmac_key = hmac_key
        self._sent: OrderedDict[str, Any] = OrderedDict()  # taskId -> the createTask body sent
        self._last: OrderedDict[str, dict[str, Any]] = OrderedDict()  # taskId -> the newest record seen

    def exchange(self, exchange: Exchange) -> None:
        """Every check for one API exchange: the request body the application sent, then the
        answer's envelope, status policy and conformance, then the lifecycle."""
        if not urlsplit(exchange.url).path.startswith(API_PREFIX):
            return
        request = exchange.request()
        response = httpx.Response(exchange.status, headers=exchange.response_headers,
                                  content=exchange.response_body, request=request)
        reproducer = curl(request, bearer_key(exchange.request_headers))
        if is_html(exchange):
            snippet = exchange.response_body[:120].decode("utf-8", "replace")
            self.verdicts.fail("upstream_html", "the API's JSON envelope",
                               f"HTTP {exchange.status} HTML page: {snippet!r}", reproducer)
            return
        path = urlsplit(exchange.url).path
        content_type = next((v for k, v in exchange.request_headers.items() if k.lower() == "content-type"), "")
        self.verdicts.check("request_body", request_rules, exchange.method, path, content_type, exchange.request_body,
                            reproducer=reproducer)
        for name, check in RESPONSE_CHECKS.items():
            self.verdicts.check(name, check, response, reproducer=reproducer)
        self.lifecycle(exchange, reproducer)

    def lifecycle(self, exchange: Exchange, reproducer: str) -> None:
        """A createTask remembered by its task id; a record checked on its own and against the
        body sent and the task's previous record."""
        path = urlsplit(exchange.url).path
        answer = _json(exchange.response_body)
        if not isinstance(answer, dict) or answer.get("code") != 200 or not isinstance(answer.get("data"), dict):
            return
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
        self.verdicts.check("record_task_id", same_task, asked, record, reproducer=reproducer)
        body = sent if sent is not None else _json(record.get("param"))  # unknown: param against itself
        self.verdicts.check("record_fields", record_rules, record, body, reproducer=reproducer)
        if before is not None:
            self.verdicts.check("transitions", transition_rules, before, record, reproducer=reproducer)

    def callback(self, headers: dict[str, str], body: bytes, reproducer: str) -> None:
        """A delivered callback: the spec's CallbackPayload, its signature (with a key), and
        agreement with the task's last record when that record was final."""
        delivery = Delivery({k.lower(): v for k, v in headers.items()}, body)
        payload = _json(body)
        data = payload.get("data") if isinstance(payload, dict) else None
        task_id = delivery.task_id
        last = self._last.get(task_id) if task_id is not None else None
        final = last if last is not None and last.get("state") in TERMINAL else None
        if final is None and isinstance(data, dict) and last is not None:
            self.verdicts.check("transitions", transition_rules, last, data, reproducer=reproducer)
        record = final or (data if isinstance(data, dict) else {"state": "?", "taskId": task_id})
        self.verdicts.check("callback", callback_rules, delivery, record, self._hmac_key, reproducer=reproducer)

    def fault(self, kind: str, expected: str, got: str, reproducer: str) -> None:
        """The upstream failed to answer (timeout, TLS, connection): a finding of its own kind."""
        self.verdicts.fail(kind, expected, got, reproducer)


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
