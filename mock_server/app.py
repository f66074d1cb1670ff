"""`create_app`: wiring only. The spec is loaded and its validators compiled here, once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from contracts.spec.names import CREATE_TASK
from contracts.spec.validators import request_validators
from mock_server.errors import ApiError
from mock_server.http.access import Access
from mock_server.http.access_log import AccessLog
from mock_server.http.control import control_routes
from mock_server.http.dispatch import DispatchingApp
from mock_server.http.files import file_routes
from mock_server.http.operations import api_routes
from mock_server.http.pages import page_routes
from mock_server.http.render import Renderer, crash, routing_error
from mock_server.http.spec import spec_routes
from mock_server.services import Services
from mock_server.settings import Settings
from mock_server.sim.clock import VirtualClock
from mock_server.store.base import TaskStore


def create_app(settings: Settings | None = None, *, clock: VirtualClock | None = None,
               store: TaskStore | None = None, transport: httpx.AsyncBaseTransport | None = None,
               join: bool = False) -> Starlette:
    """`join`: a worker among others on a shared store (see Services.build)."""
    settings = settings or Settings()
    services = Services.build(settings, clock=clock, store=store, transport=transport, join=join)
    renderer = Renderer(settings.status_policy)
    # createTask is validated by model: the catalogue picks each model's compiled validator.
    validators = {**request_validators(), CREATE_TASK: services.catalogue.create_task_validator()}
    operations = api_routes(services, validators, settings)
    public_host = urlsplit(settings.public_url).hostname if settings.public_url else None
    access = Access(settings.admin_token, own_hosts=[public_host] if public_host else [])
    routes = [*operations, *control_routes(services, access, settings.public_url), *file_routes(services),
              *spec_routes(services.catalogue, services.apis.apis, public_url=settings.public_url),
              *page_routes(access)]

    async def routing(request: Request, exc: Exception) -> Response:
        return renderer.response(routing_error(request, exc))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return renderer.response(exc)

    async def crashed(request: Request, exc: Exception) -> Response:
        return renderer.response(crash())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with services.lifespan():
            yield

    middleware = [Middleware(AccessLog)] if settings.access_log else []
    app = DispatchingApp(routes=routes, lifespan=lifespan, middleware=middleware, operations=operations,
                         bypass=not middleware, cors_origins=settings.cors_origins,
                         exception_handlers={HTTPException: routing, ApiError: refused, Exception: crashed})
    gc.freeze()  # start-up objects (spec, validators) live forever: keep the GC off them
    app.state.services = services
    app.state.settings = settings
    return app
