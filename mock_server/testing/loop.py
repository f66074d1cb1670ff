"""httpx transports that hand each request to an ASGI app served on another thread's event
loop (a `ThreadedServer`'s): the same app and middleware as over its socket, without the
socket's round trip (~1.5 ms a call here). The pytest fixture sends its control calls this
way; the user's own client keeps the socket."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
import httpx

TIMEOUT_SECONDS = 30.0
LOOPBACK_CLIENT = ("127.0.0.1", 0)  # who the app sees calling: a local tool, as over the socket


class _OnLoop:
    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._app = httpx.ASGITransport(app=app, client=LOOPBACK_CLIENT)
        self._loop = loop

    def _submit(self, request: httpx.Request) -> Any:
        return asyncio.run_coroutine_threadsafe(self._exchange(request), self._loop)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        answer = await self._app.handle_async_request(request)
        body = b"".join([part async for part in answer.stream])  # type: ignore[union-attr]
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)


class LoopTransport(_OnLoop, httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._submit(request).result(TIMEOUT_SECONDS)  # type: ignore[no-any-return]


class AsyncLoopTransport(_OnLoop, httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        future = self._submit(request)
        if _in_asyncio():
            return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS)
        return await anyio.to_thread.run_sync(future.result, TIMEOUT_SECONDS)  # trio


def _in_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class KeptTransport(httpx.HTTPTransport):
    """A session's connection pool lent to each test's fresh client (a new connection costs
    ~0.6 ms a test): a test closing its client leaves the pool for the next one."""

    def close(self) -> None:
        pass

    def close_for_good(self) -> None:
        super().close()
