"""`create_app`: wiring only. Spec loading and validator compilation happen here, once."""

from __future__ import annotations

import gc

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.validators import request_validators
from mock_server.auth import KeyRing
from mock_server.backend import Backend
from mock_server.clock import VirtualClock
from mock_server.errors import (
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    RESULT_NOT_READY,
    ApiError,
    http_status,
)
from mock_server.http import envelope
from mock_server.routes import api_routes
from mock_server.settings import Settings
from mock_server.store import MemoryTaskStore, TaskStore


def create_app(settings: Settings | None = None, *, clock: VirtualClock | None = None,
               store: TaskStore | None = None) -> Starlette:
    settings = settings or Settings()
    clock = clock or VirtualClock(start_ms=settings.epoch_ms, speed=settings.speed)
    backend = Backend(settings, clock=clock, store=store or MemoryTaskStore())

    async def health(request: Request) -> Response:
        return envelope(200, "success", {"status": "ok", "now": clock.now_ms(),
                                         "tasks": backend.store.count()})

    async def result_media(request: Request) -> Response:
        # The file host answers plain HTTP statuses, not the API's status policy.
        return envelope(404, RESULT_NOT_READY.format(path=request.url.path), status=404)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Routing errors keep their real HTTP status whatever the policy: no operation matched.
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            msg = METHOD_NOT_ALLOWED.format(method=request.method, path=request.url.path,
                                            allowed=allowed)
        elif exc.status_code == 404:
            msg = NOT_FOUND.format(path=request.url.path)
        else:
            msg = str(exc.detail)
        return envelope(exc.status_code, msg, status=exc.status_code, headers=exc.headers)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return envelope(exc.code, exc.msg, status=http_status(exc, settings.status_policy),
                        headers=exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        return envelope(500, INTERNAL_ERROR, status=500)

    routes = api_routes(backend, request_validators(), KeyRing(settings.api_keys))
    routes += [
        Route("/__mock__/health", health, methods=["GET"]),
        Route("/results/{name:path}", result_media, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, ApiError: api_error, Exception: server_error,
    })
    gc.freeze()  # start-up objects (spec, validators) live forever: keep the GC off them
    app.state.backend = backend
    app.state.settings = settings
    return app
