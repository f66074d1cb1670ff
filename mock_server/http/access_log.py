"""`serve --access-log`: one line per request, written when the response is complete.

    POST /api/v1/jobs/createTask code=200 status=200 1.42ms task=task_bytedance_1765182752206

`code` is the envelope's code (the API's answer even when HTTP says 200), `status` the HTTP
status; `task` comes from the query (`taskId`), the answer (`data.taskId`) or a result path.
Off by default: reading every answer back costs time the hot path does not have to spend.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.urls import RESULTS_PREFIX

LOGGER = logging.getLogger("apikley_mock.access")
MAX_PARSED_BYTES = 64 * 1024  # envelopes are small; a file or video is not parsed


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        json_answer = False
        body = bytearray()

        async def recording(message: Message) -> None:
            nonlocal status, json_answer
            if message["type"] == "http.response.start":
                status = message["status"]
                json_answer = any(name == b"content-type" and value.startswith(b"application/json")
                                  for name, value in message.get("headers", []))
            elif message["type"] == "http.response.body" and json_answer and len(body) < MAX_PARSED_BYTES:
                body.extend(message.get("body", b""))
            await send(message)

        recording.__wrapped__ = send  # type: ignore[attr-defined]  # a fault scenario may close the connection
        try:
            await self.app(scope, receive, recording)
        finally:
            LOGGER.info(line(scope, status, bytes(body), (time.perf_counter() - started) * 1000))


def line(scope: Scope, status: int, body: bytes, elapsed_ms: float) -> str:
    code, task_id = envelope_facts(body)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    path = scope["path"]
    task_id = task_id or next(iter(query.get("taskId", [])), None)
    if task_id is None and path.startswith(RESULTS_PREFIX):
        task_id = path.removeprefix(RESULTS_PREFIX).rpartition(".")[0] or None
    return (f"{scope.get('method', '-')} {path} code={code if code is not None else '-'} "
            f"status={status or '-'} {elapsed_ms:.2f}ms task={task_id or '-'}")


def envelope_facts(body: bytes) -> tuple[object, str | None]:
    """The envelope's `code` and `data.taskId`, when the answer is an envelope."""
    try:
        answer = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(answer, dict):
        return None, None
    data = answer.get("data")
    task_id = data.get("taskId") if isinstance(data, dict) else None
    return answer.get("code"), task_id if isinstance(task_id, str) else None
