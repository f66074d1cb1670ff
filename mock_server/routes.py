"""The API's routes, built from the spec's paths: each parses, calls one backend method, renders.

Every operation runs the same pipeline: authenticate -> read and validate (with the
validator compiled for it at start-up) -> backend -> envelope. Operations are plain ASGI
endpoints (still routed by Starlette): on this hot path, building Starlette's Request and
Response objects cost more than the work itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from contracts.validators import RequestInvalid, RequestValidator
from mock_server import scenarios
from mock_server.auth import KeyRing
from mock_server.backend import CREATE_TASK, Backend
from mock_server.errors import ApiError, http_status
from mock_server.http import encode_envelope, parse_json, read_body, require_media_type
from mock_server.lifecycle import Outcome

WANTED_HEADERS = frozenset({b"authorization", b"content-type", b"content-length", b"host",
                            scenarios.HEADER.encode()})


class Call(NamedTuple):
    """What a handler needs from a validated request."""

    api_key: str
    body: Any
    query: Mapping[str, str]
    scope: Scope
    host: str | None
    outcome: Outcome | None

    @property
    def origin(self) -> str:
        """The base URL the client used: result URLs point back there."""
        host = self.host
        if not host:
            server_host, server_port = self.scope.get("server") or ("127.0.0.1", 80)
            host = f"{server_host}:{server_port}"
        return f"{self.scope['scheme']}://{host}{self.scope.get('root_path', '')}"


Handler = Any  # Callable[[Backend, Call], Any]; a lambda table reads better than protocols

HANDLERS: Mapping[str, Handler] = {
    CREATE_TASK: lambda backend, call: backend.create_task(call.api_key, call.body,
                                                           origin=call.origin, outcome=call.outcome),
    "get-task-details": lambda backend, call: backend.get_task_details(call.api_key,
                                                                       call.query["taskId"]),
    "get-account-credits": lambda backend, call: backend.get_account_credits(call.api_key),
    "get-download-url": lambda backend, call: backend.get_download_url(call.api_key, call.body["url"]),
}


async def send_envelope(send: Send, code: int, msg: str, data: Any = None, *, status: int = 200,
                        headers: Mapping[str, str] | None = None) -> None:
    body = encode_envelope(code, msg, data)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if headers:
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class OperationEndpoint:
    """One spec operation as an ASGI app."""

    def __init__(self, validator: RequestValidator, handler: Handler, backend: Backend,
                 keys: KeyRing) -> None:
        self.validator = validator
        self.handler = handler
        self.backend = backend
        self.keys = keys
        self.policy = backend.settings.status_policy
        self.limit = backend.settings.max_body_bytes
        self.operation_id = validator.operation.operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"]
                   if name in WANTED_HEADERS}
        api_key = ""
        extra: Mapping[str, str] | None = None
        try:
            api_key = self.keys.authenticate(headers.get("authorization"))
            code, msg, data, status = 200, "success", await self.answer(api_key, headers, scope, receive), 200
        except RequestInvalid as exc:
            code, msg, data, status = 422, str(exc), None, http_status(ApiError(422, ""), self.policy)
        except ApiError as exc:
            code, msg, data, status = exc.code, exc.msg, None, http_status(exc, self.policy)
            extra = exc.headers
        await send_envelope(send, code, msg, data, status=status, headers=extra)
        self.backend.requests.add(api_key, {
            "at": self.backend.clock.now_ms(), "method": scope["method"], "path": scope["path"],
            "operationId": self.operation_id, "status": status, "code": code,
            "latencyMs": round((time.perf_counter() - started) * 1000, 3),
        })

    async def answer(self, api_key: str, headers: Mapping[str, str], scope: Scope,
                     receive: Receive) -> Any:
        validator = self.validator
        named = headers.get(scenarios.HEADER)
        scenario = scenarios.parse(named, "X-Mock-Scenario") if named is not None else None
        outcome = self.backend.admit(api_key, self.operation_id, scenario)
        body = None
        if validator.media_type is not None:
            require_media_type(headers.get("content-type", ""), validator.media_type)
            body = parse_json(await read_body(receive, headers.get("content-length", ""), self.limit))
            validator.check_body(body)
        query: Mapping[str, str] = {}
        if validator.query:
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        validator.check_query(query)
        return self.handler(self.backend, Call(api_key, body, query, scope, headers.get("host"), outcome))


def api_routes(backend: Backend, validators: Mapping[str, RequestValidator],
               keys: KeyRing) -> list[Route]:
    """One route per operation this mock implements, at the spec's path and method."""
    return [
        Route(validator.operation.path,
              OperationEndpoint(validator, HANDLERS[operation_id], backend, keys),
              methods=[validator.operation.method])
        for operation_id, validator in validators.items() if operation_id in HANDLERS
    ]
