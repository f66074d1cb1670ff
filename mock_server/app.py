"""`create_app`: wiring only. Spec loading and validator compilation happen here, once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.validators import request_validators
from mock_server.auth import KeyRing
from mock_server.backend import Backend
from mock_server.callbacks import CallbackDispatcher, CallbackPolicy
from mock_server.clock import VirtualClock
from mock_server.control import Control, control_routes
from mock_server.errors import (
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ApiError,
    http_status,
)
from mock_server.filehost import FileHost
from mock_server.http import envelope
from mock_server.media import MediaCache
from mock_server.routes import api_routes
from mock_server.settings import Settings
from mock_server.store import MemoryTaskStore, SqliteTaskStore, TaskStore
from mock_server.uploads import UploadEndpoint, UploadStore

TICK_SECONDS = 0.02  # how often ended tasks are settled and due callbacks started
UPLOAD_OPERATIONS = ("file-stream-upload", "file-url-upload", "file-base64-upload")


def open_store(settings: Settings) -> TaskStore:
    return SqliteTaskStore(settings.db) if settings.db else MemoryTaskStore()


def start_clock(settings: Settings, store: TaskStore) -> VirtualClock:
    """Real time (or --epoch-ms), but never before the virtual time a stored run had reached:
    a task that ended before a restart stays ended."""
    start = settings.epoch_ms if settings.epoch_ms is not None else int(time.time() * 1000)
    saved = store.load_clock()
    return VirtualClock(start_ms=max(start, saved or 0), speed=settings.speed)


def create_app(settings: Settings | None = None, *, clock: VirtualClock | None = None,
               store: TaskStore | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    settings = settings or Settings()
    owns_store = store is None
    store = store or open_store(settings)
    clock = clock or start_clock(settings, store)
    policy = CallbackPolicy(max_attempts=settings.callback_max_attempts,
                            backoff_seconds=settings.callback_backoff_seconds,
                            allow_hosts=settings.callback_allow_hosts,
                            hmac_key=settings.webhook_hmac_key)
    dispatcher = CallbackDispatcher(policy, clock=clock, journal=store.deliveries, transport=transport)
    backend = Backend(settings, clock=clock, store=store, dispatcher=dispatcher)
    control = Control(backend)
    temporary = None if settings.data_dir else tempfile.TemporaryDirectory(prefix="apikley-mock-")
    data_dir = Path(settings.data_dir or temporary.name)  # type: ignore[union-attr]
    # Half the disk budget for uploads, half for rendered results (which can be rendered again).
    uploads = UploadStore(data_dir / "uploads", clock=clock, ttl_seconds=settings.upload_ttl_seconds,
                          max_file_bytes=settings.max_upload_bytes, max_total_bytes=settings.max_data_bytes // 2)
    files = FileHost(backend, MediaCache(data_dir / "results", settings.max_data_bytes // 2), uploads)
    validators = request_validators()

    async def health(request: Request) -> Response:
        return envelope(200, "success", {"status": "ok", "now": clock.now_ms(),
                                         "tasks": backend.store.count()})

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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def ticker() -> None:
            while True:
                control.tick()
                await asyncio.sleep(TICK_SECONDS)

        running = asyncio.create_task(ticker())
        try:
            yield
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await dispatcher.aclose()
            store.save_clock(clock.now_ms())
            if owns_store:
                store.close()
            if temporary is not None:
                temporary.cleanup()

    keys = KeyRing(settings.api_keys)
    routes = api_routes(backend, validators, keys)
    routes += [
        Route(validators[operation_id].operation.path,
              UploadEndpoint(validators[operation_id], keys=keys, store=uploads, settings=settings,
                             transport=transport).handle, methods=["POST"])
        for operation_id in UPLOAD_OPERATIONS
    ]
    routes += [
        Route("/__mock__/health", health, methods=["GET"]),
        *control_routes(control, settings.admin_token),
        *files.routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        HTTPException: http_error, ApiError: api_error, Exception: server_error,
    })
    gc.freeze()  # start-up objects (spec, validators) live forever: keep the GC off them
    app.state.backend = backend
    app.state.settings = settings
    return app
