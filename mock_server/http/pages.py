"""The pages: the dashboard (`/__mock__/`) and the offline API docs (`/docs`).

Both are static files. The dashboard is one page over the control API: it keeps no state and
shows nothing the control API does not serve, so what it shows is what tests see. `/docs` is
Swagger UI from the swagger-ui-bundle package (no CDN: it works with the network unplugged)
reading `/openapi.json`, whose first server is this mock, so "Try it out" calls reach it.
Nothing here is on the API's request path.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mock_server.errors import ApiError
from mock_server.http.access import Access
from mock_server.http.render import Renderer

STATIC = Path(__file__).with_name("static")
DASHBOARD = "/__mock__/"
# The page builds its DOM from text only; the policy is a second fence: no inline script, no
# script or connection to any other origin. Results may be served from --public-url: media anywhere.
DASHBOARD_POLICY = ("default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'; "
                    "img-src 'self' data: http: https:; media-src 'self' http: https:; frame-ancestors 'none'")


def page_routes(access: Access) -> list[BaseRoute]:
    renderer = Renderer("mirror")

    async def dashboard(request: Request) -> Response:
        try:
            access.check(request, token_in_query=True)
        except ApiError as exc:
            return renderer.response(exc)
        return FileResponse(STATIC / "dashboard.html", headers={
            "Content-Security-Policy": DASHBOARD_POLICY, "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"})  # a ?token= stays on this page

    async def to_dashboard(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(DASHBOARD + query)

    async def docs(request: Request) -> Response:
        return FileResponse(STATIC / "docs.html")

    return [
        Route(DASHBOARD, dashboard, methods=["GET"]),
        Route(DASHBOARD.rstrip("/"), to_dashboard, methods=["GET"]),
        Mount("/__mock__/assets", StaticFiles(directory=STATIC), name="dashboard-assets"),
        Route("/docs", docs, methods=["GET"]),
        Mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets"),
    ]
