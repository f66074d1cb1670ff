"""The API's routes, built from the spec's paths: each parses, calls one backend method, renders.

Every operation runs the same pipeline: authenticate -> read and validate (with the
validator compiled for it at start-up) -> backend -> envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.validators import RequestInvalid, RequestValidator
from mock_server.auth import KeyRing
from mock_server.backend import CREATE_TASK, Backend
from mock_server.errors import ApiError, http_status
from mock_server.http import envelope, parse_json, read_body, require_media_type


@dataclass(frozen=True)
class Call:
    """What a handler needs from a validated request."""

    api_key: str
    body: Any
    query: Mapping[str, str]
    origin: str


Handler = Callable[[Backend, Call], Any]

HANDLERS: Mapping[str, Handler] = {
    CREATE_TASK: lambda backend, call: backend.create_task(call.api_key, call.body,
                                                           origin=call.origin),
    "get-task-details": lambda backend, call: backend.get_task_details(call.api_key,
                                                                       call.query["taskId"]),
    "get-account-credits": lambda backend, call: backend.get_account_credits(call.api_key),
}


def render_error(error: ApiError, policy: str) -> Response:
    return envelope(error.code, error.msg, status=http_status(error, policy),
                    headers=error.headers)


def endpoint(validator: RequestValidator, handler: Handler, backend: Backend,
             keys: KeyRing) -> Callable[[Request], Awaitable[Response]]:
    settings = backend.settings

    async def handle(request: Request) -> Response:
        try:
            api_key = keys.authenticate(request.headers.get("authorization"))
            body = None
            if validator.media_type is not None:
                require_media_type(request, validator.media_type)
                body = parse_json(await read_body(request, settings.max_body_bytes))
                validator.check_body(body)
            query = request.query_params
            validator.check_query(query)
            origin = str(request.base_url).rstrip("/")
            data = handler(backend, Call(api_key, body, query, origin))
        except RequestInvalid as exc:
            return render_error(ApiError(422, str(exc)), settings.status_policy)
        except ApiError as exc:
            return render_error(exc, settings.status_policy)
        return envelope(200, "success", data)

    return handle


def api_routes(backend: Backend, validators: Mapping[str, RequestValidator],
               keys: KeyRing) -> list[Route]:
    """One route per operation this mock implements, at the spec's path and method."""
    return [
        Route(validator.operation.path, endpoint(validator, HANDLERS[operation_id], backend, keys),
              methods=[validator.operation.method])
        for operation_id, validator in validators.items() if operation_id in HANDLERS
    ]
