"""The API's hot path in front of Starlette: an exact (method, path) lookup.

Every operation stays a Starlette route too (for 404/405 with `Allow`, and for anything that
lists routes); this only spares the API's own requests the middleware stack and the router's
scan, which on this path cost more than the work. The operations need neither: their pipeline
renders every error, an unexpected one included, itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send


def exact_routes(routes: Iterable[Route]) -> dict[tuple[str, str], ASGIApp]:
    return {(method, route.path): route.endpoint for route in routes for method in route.methods or ()
            if "{" not in route.path and method != "HEAD"}


CORS_PREFIXES = ("/api/", "/results/", "/files/", "/replay/")  # never the control API nor the dashboard


class DispatchingApp(Starlette):
    """A Starlette app whose API operations are answered before its middleware stack (unless
    middleware that must see every request, such as the access log, is configured). With
    `cors_origins`, the API's operations and its result and file URLs answer browsers of those
    origins (preflights included); the control API and the dashboard never do."""

    def __init__(self, *args: Any, operations: Iterable[Route], bypass: bool = True,
                 cors_origins: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints = exact_routes(operations) if bypass else {}
        self.cors = CORSMiddleware(self._dispatch, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                                   allow_headers=["Authorization", "Content-Type", "X-Mock-Scenario", "Range"],
                                   expose_headers=["Retry-After", "Content-Length", "Content-Range"],
                                   max_age=600) if cors_origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cors is not None and scope["type"] == "http" and scope["path"].startswith(CORS_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
