"""The API's hot path in front of Starlette's router: an exact (method, path) lookup.

Every operation stays a Starlette route too (for 404/405 with `Allow`, and for anything that
lists routes); this only spares the API's own requests the router's scan and the
exception middleware's wrapping of `send`, which on this path cost more than the work.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send


class OperationDispatch:
    def __init__(self, app: ASGIApp, routes: Iterable[Route]) -> None:
        self.app = app
        self.endpoints: dict[tuple[str, str], ASGIApp] = {
            (method, route.path): route.endpoint for route in routes for method in route.methods or ()
            if "{" not in route.path and method != "HEAD"
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get((scope.get("method", ""), scope["path"])) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
        else:
            await endpoint(scope, receive, send)
