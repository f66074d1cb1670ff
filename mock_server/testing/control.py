"""Clients for a running mock's control API: what the pytest fixtures expose. `MockControl`
(sync) and `AsyncMockControl` (async: awaitable calls, an `httpx.AsyncClient` as `client`)
drive the same calls (`calls`), against any mock given its base URL (in a thread, a process,
a container) or, async, in-process through an ASGI transport (no socket).

Clients are cheap to make: they share one SSL context (making one per client costs ~50 ms,
which a fixture made per test would pay twice over). `control_transport` sends the control
calls another way than the API calls (the fixtures: on the server's own loop, no socket);
`trust_env=False` skips reading proxy settings from the environment (~0.3 ms a client), which
a mock on loopback never needs.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from mock_server.testing.calls import Ask, ControlCalls, Plan, data_of

TIMEOUT_SECONDS = 30.0


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class MockControl:
    def __init__(self, base_url: str, api_key: str, *, admin_token: str | None = None,
                 transport: httpx.BaseTransport | None = None, control_transport: httpx.BaseTransport | None = None,
                 trust_env: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._calls = ControlCalls(api_key)
        self._admin = {"X-Mock-Admin-Token": admin_token} if admin_token else {}
        # Control calls go straight to `control_transport` when given (no client's work on top).
        self._direct = control_transport
        self._control = None if control_transport else httpx.Client(
            base_url=f"{self.base_url}/__mock__", headers=self._admin, transport=transport,
            timeout=TIMEOUT_SECONDS, verify=shared_ssl_context(), trust_env=trust_env)
        # For the API itself, already authorized with the key.
        self.client = httpx.Client(base_url=self.base_url, transport=transport, timeout=TIMEOUT_SECONDS,
                                   headers={"Authorization": f"Bearer {api_key}"}, verify=shared_ssl_context(),
                                   trust_env=trust_env)

    def _send(self, ask: Ask) -> httpx.Response:
        if self._control is not None:
            return self._control.request(ask.method, ask.path, json=ask.body, params=ask.params)
        assert self._direct is not None
        answer = self._direct.handle_request(_request(self.base_url, self._admin, ask))
        answer.read()
        return answer

    def _run(self, plan: Plan) -> Any:
        try:
            ask = next(plan)
            while True:
                answer = self._send(ask)
                ask = plan.send(data_of(ask, answer.status_code, _json(answer)))
        except StopIteration as done:
            return done.value

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Any control call (`path` under /__mock__): its answer's `data`."""
        return self._run(_one(Ask(method, path, json, params)))

    def reset(self, *, everything: bool = True) -> None:
        self._run(self._calls.reset(everything))

    def now_ms(self) -> int:
        return int(self._run(self._calls.now_ms()))

    def advance(self, seconds: float) -> int:
        """Move the virtual clock forward; returns the new time (Unix ms)."""
        return int(self._run(self._calls.advance(seconds)))

    def queue(self, scenario: str, *, operation: str = "createTask", times: int = 1) -> None:
        """The next `times` calls of `operation` with this key answer `scenario`."""
        self._run(self._calls.queue(scenario, operation, times))

    def set_balance(self, balance: float) -> None:
        self._run(self._calls.set_balance(balance))

    def toggles(self, **changes: Any) -> dict[str, Any]:
        return dict(self._run(self._calls.toggles(changes)))

    def tasks(self) -> list[dict[str, Any]]:
        return list(self._run(self._calls.tasks()))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self._run(self._calls.task(task_id)))

    def force_state(self, task_id: str, state: str) -> dict[str, Any]:
        return dict(self._run(self._calls.force_state(task_id, state)))

    def set_outcome(self, task_id: str, scenario: str) -> dict[str, Any]:
        return dict(self._run(self._calls.set_outcome(task_id, scenario)))

    def seed_task(self, body: dict[str, Any], **record: Any) -> str:
        """A task of `body` (a createTask body) whose record answers `record`'s fields."""
        return str(self._run(self._calls.seed_task(body, record)))

    def requests(self) -> list[dict[str, Any]]:
        return list(self._run(self._calls.requests()))

    def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return list(self._run(self._calls.callbacks(task_id)))

    def wait_for_callback(self, task_id: str) -> list[dict[str, Any]]:
        return list(self._run(self._calls.wait_for_callback(task_id)))

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
        self.client.close()


class AsyncMockControl:
    """As MockControl, awaited. `transport`: an `httpx.ASGITransport` over the mock's app for an
    in-process mock (no socket; the same transport is `self.transport`, for your own client).
    Over a socket no connection is kept between calls, so nothing is left open when a test's
    event loop ends, whichever plugin runs it (pytest-asyncio, anyio)."""

    def __init__(self, base_url: str, api_key: str, *, admin_token: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 control_transport: httpx.AsyncBaseTransport | None = None, trust_env: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.transport = transport
        self._calls = ControlCalls(api_key)
        self._admin = {"X-Mock-Admin-Token": admin_token} if admin_token else {}
        unkept = httpx.Limits(max_keepalive_connections=0)
        self._direct = control_transport
        self._control = None if control_transport else httpx.AsyncClient(
            base_url=f"{self.base_url}/__mock__", headers=self._admin, transport=transport,
            timeout=TIMEOUT_SECONDS, limits=unkept, verify=shared_ssl_context(), trust_env=trust_env)
        self.client = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=TIMEOUT_SECONDS,
                                        headers={"Authorization": f"Bearer {api_key}"}, limits=unkept,
                                        verify=shared_ssl_context(), trust_env=trust_env)

    async def _send(self, ask: Ask) -> httpx.Response:
        if self._control is not None:
            return await self._control.request(ask.method, ask.path, json=ask.body, params=ask.params)
        assert self._direct is not None
        answer = await self._direct.handle_async_request(_request(self.base_url, self._admin, ask))
        await answer.aread()
        return answer

    async def _run(self, plan: Plan) -> Any:
        try:
            ask: Ask = next(plan)
            while True:
                answer = await self._send(ask)
                ask = plan.send(data_of(ask, answer.status_code, _json(answer)))
        except StopIteration as done:
            return done.value

    async def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        return await self._run(_one(Ask(method, path, json, params)))

    async def reset(self, *, everything: bool = True) -> None:
        await self._run(self._calls.reset(everything))

    async def now_ms(self) -> int:
        return int(await self._run(self._calls.now_ms()))

    async def advance(self, seconds: float) -> int:
        return int(await self._run(self._calls.advance(seconds)))

    async def queue(self, scenario: str, *, operation: str = "createTask", times: int = 1) -> None:
        await self._run(self._calls.queue(scenario, operation, times))

    async def set_balance(self, balance: float) -> None:
        await self._run(self._calls.set_balance(balance))

    async def toggles(self, **changes: Any) -> dict[str, Any]:
        return dict(await self._run(self._calls.toggles(changes)))

    async def tasks(self) -> list[dict[str, Any]]:
        return list(await self._run(self._calls.tasks()))

    async def task(self, task_id: str) -> dict[str, Any]:
        return dict(await self._run(self._calls.task(task_id)))

    async def force_state(self, task_id: str, state: str) -> dict[str, Any]:
        return dict(await self._run(self._calls.force_state(task_id, state)))

    async def set_outcome(self, task_id: str, scenario: str) -> dict[str, Any]:
        return dict(await self._run(self._calls.set_outcome(task_id, scenario)))

    async def seed_task(self, body: dict[str, Any], **record: Any) -> str:
        return str(await self._run(self._calls.seed_task(body, record)))

    async def requests(self) -> list[dict[str, Any]]:
        return list(await self._run(self._calls.requests()))

    async def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return list(await self._run(self._calls.callbacks(task_id)))

    async def wait_for_callback(self, task_id: str) -> list[dict[str, Any]]:
        return list(await self._run(self._calls.wait_for_callback(task_id)))


def _one(ask: Ask) -> Plan:
    return (yield ask)


def _request(base_url: str, admin: dict[str, str], ask: Ask) -> httpx.Request:
    return httpx.Request(ask.method, f"{base_url}/__mock__{ask.path}", json=ask.body, params=ask.params, headers=admin)


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text
