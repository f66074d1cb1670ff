"""`GET /openapi.json`: the bundled spec as the mock serves it, every loaded model included
(createTask's body a `oneOf` over the models, discriminated by `model`), with the mock itself
as the server so tools that render it send their "try it" calls here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.family.catalogue import ModelCatalogue
from contracts.spec.document import load_spec
from mock_server.http.origin import minted_origin

SPEC_ROUTE = "/openapi.json"


def spec_routes(catalogue: ModelCatalogue, *, public_url: str | None) -> list[Route]:
    document = catalogue.openapi(load_spec())

    async def served(request: Request) -> Response:
        origin = minted_origin(request.scope, public_url)
        return JSONResponse({**document, "servers": [{"url": origin, "description": "this apikley-mock"},
                                                      *document.get("servers", [])]})

    return [Route(SPEC_ROUTE, served, methods=["GET"])]
