"""What each control call sends and what it returns, once, for the sync and the async client.

Each call is a generator that yields the requests it needs (`Ask`) and receives each one's
`data`; `MockControl` drives it with httpx.Client, `AsyncMockControl` with httpx.AsyncClient
(a socket, or an ASGI transport in-process). No I/O here: the loop of `wait_for_callback` is
written once for both.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple

FINAL_RESULTS = frozenset({"delivered", "failed", "refused", "dropped"})
MAX_ROUNDS = 20  # wait_for_callback: deliveries plus every retry, bounded


class Ask(NamedTuple):
    method: str
    path: str  # under /__mock__
    body: Any = None  # JSON
    params: dict[str, Any] | None = None


Plan = Generator[Ask, Any, Any]


class ControlError(RuntimeError):
    """A control call the mock refused; the message is its."""


class ControlCalls:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def reset(self, everything: bool = True) -> Plan:
        """Back to the start settings (the whole mock, or this key's part only)."""
        yield Ask("POST", "/reset", {} if everything else {"apiKey": self.api_key})

    def now_ms(self) -> Plan:
        return int((yield Ask("GET", "/clock"))["now"])

    def advance(self, seconds: float) -> Plan:
        return int((yield Ask("POST", "/clock/advance", {"seconds": seconds}))["now"])

    def queue(self, scenario: str, operation: str, times: int) -> Plan:
        yield Ask("POST", f"/keys/{self.api_key}/queue", {"operation": operation, "scenario": scenario, "times": times})

    def set_balance(self, balance: float) -> Plan:
        yield Ask("PUT", f"/keys/{self.api_key}/balance", {"balance": balance})

    def toggles(self, changes: dict[str, Any]) -> Plan:
        return dict((yield Ask("PUT", "/toggles", changes)))

    def tasks(self) -> Plan:
        return list((yield Ask("GET", "/tasks", params={"apiKey": self.api_key})))

    def task(self, task_id: str) -> Plan:
        return dict((yield Ask("GET", f"/tasks/{task_id}")))

    def force_state(self, task_id: str, state: str) -> Plan:
        return dict((yield Ask("POST", f"/tasks/{task_id}/state", {"state": state})))

    def set_outcome(self, task_id: str, scenario: str) -> Plan:
        return dict((yield Ask("POST", f"/tasks/{task_id}/outcome", {"scenario": scenario})))

    def seed_task(self, body: dict[str, Any], record: dict[str, Any]) -> Plan:
        """A task whose Get Task Details answers `record` (state, resultJson, failCode ...)."""
        return str((yield Ask("POST", "/tasks", {"apiKey": self.api_key, "body": body, "record": record}))["taskId"])

    def requests(self) -> Plan:
        return list((yield Ask("GET", "/requests", params={"apiKey": self.api_key})))

    def callbacks(self, task_id: str | None) -> Plan:
        params = {"apiKey": self.api_key, **({"taskId": task_id} if task_id else {})}
        return list((yield Ask("GET", "/callbacks", params=params)))

    def wait_for_callback(self, task_id: str) -> Plan:
        """Advance the virtual clock to the task's end (and through any retries) until its
        callback is delivered, failed for good, refused or dropped; returns its journal."""
        for _ in range(MAX_ROUNDS):
            end = (yield from self.task(task_id))["timeline"][-1]
            if end["state"] not in ("success", "fail"):
                raise AssertionError(f"task {task_id} never ends (stuck in {end['state']})")
            now = yield from self.now_ms()
            if now < end["at"]:
                yield from self.advance((end["at"] - now) / 1000)
            report = yield Ask("POST", "/callbacks/flush", {}, params={"taskId": task_id})
            deliveries = report["deliveries"]
            if any(entry["result"] in FINAL_RESULTS for entry in deliveries):
                return list(deliveries)
            if not report["pending"]:
                raise AssertionError(f"task {task_id} has no callback to wait for (no callBackUrl?)")
            due = min(item["dueAt"] for item in report["pending"])
            yield from self.advance(max(0.0, (due - (yield from self.now_ms())) / 1000))
        raise AssertionError(f"callback of {task_id} not settled after {MAX_ROUNDS} rounds")


def data_of(ask: Ask, status: int, payload: Any) -> Any:
    """The `data` of a control answer, or a ControlError with the mock's message."""
    if status != 200 or not isinstance(payload, dict) or payload.get("code") != 200:
        message = payload.get("msg") if isinstance(payload, dict) else str(payload)[:200]
        raise ControlError(f"control {ask.method} {ask.path}: {message}")
    return payload["data"]
