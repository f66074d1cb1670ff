"""`GET /openapi.json`: the bundled spec as the mock serves it, every loaded model included
(createTask's body a `oneOf` over the models, discriminated by `model`; `?model=ID` one
model's body), with the mock itself as the server so tools that render it send their "try
it" calls here. `/openapi/models.json` lists the models, for /docs to pick from."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.family.catalogue import ModelCatalogue
from contracts.spec.document import JSON, load_spec
from mock_server.http.origin import minted_origin

SPEC_ROUTE = "/openapi.json"  # ?model=ID: that model's createTask body alone
MODELS_ROUTE = "/openapi/models.json"


def spec_routes(catalogue: ModelCatalogue, *, public_url: str | None) -> list[Route]:
    every = catalogue.openapi(load_spec())
    by_model: dict[str, JSON] = {}  # one document per loaded model, made when first asked for

    async def served(request: Request) -> Response:
        model = request.query_params.get("model")
        if model is not None and model not in catalogue.pages:
            return JSONResponse({"code": 404, "msg": f"model {model[:100]!r} is not loaded", "data": None},
                                status_code=404)
        document = every if model is None else by_model.setdefault(model, catalogue.openapi(load_spec(), model))
        origin = minted_origin(request.scope, public_url)
        return JSONResponse({**document, "servers": [{"url": origin, "description": "this apikley-mock"},
                                                      *document.get("servers", [])]})

    async def models(request: Request) -> Response:
        """What /docs offers to pick from: each loaded model and its output kind."""
        return JSONResponse([{"model": page.model_id, "output": page.output} for page in catalogue.pages.values()])

    return [Route(SPEC_ROUTE, served, methods=["GET"]), Route(MODELS_ROUTE, models, methods=["GET"])]
