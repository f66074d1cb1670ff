"""`GET /openapi.json`: the bundled spec as the mock serves it, every loaded model included
(createTask's body a `oneOf` over the models, discriminated by `model`; `?model=ID` one
model's body; `?api=NAME` another API's spec), with the mock itself as the server so tools
that render it send their "try it" calls here. `/openapi/models.json` lists the models, for
/docs to pick from, and `/openapi/apis.json` the other APIs."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.apis import Api
from contracts.family.catalogue import ModelCatalogue
from contracts.spec.document import JSON, load_spec
from mock_server.http.origin import minted_origin

SPEC_ROUTE = "/openapi.json"  # ?model=ID: that model's createTask body alone; ?api=NAME: another API's spec
MODELS_ROUTE = "/openapi/models.json"
APIS_ROUTE = "/openapi/apis.json"


def served_at(document: JSON, origin: str) -> JSON:
    """The document with the mock itself as its first server."""
    return {**document, "servers": [{"url": origin, "description": "this apikley-mock"}, *document.get("servers", [])]}


def spec_routes(catalogue: ModelCatalogue, apis: Mapping[str, Api], *, public_url: str | None) -> list[Route]:
    every = catalogue.openapi(load_spec())
    by_model: dict[str, JSON] = {}  # one document per loaded model, made when first asked for

    async def served(request: Request) -> Response:
        model, api = request.query_params.get("model"), request.query_params.get("api")
        if api is not None:
            if api not in apis:
                return JSONResponse({"code": 404, "msg": f"no API {api[:100]!r}; the others: {', '.join(apis)}",
                                     "data": None}, status_code=404)
            return JSONResponse(served_at(apis[api].document, minted_origin(request.scope, public_url)))
        if model is not None and model not in catalogue.pages:
            return JSONResponse({"code": 404, "msg": f"model {model[:100]!r} is not loaded", "data": None},
                                status_code=404)
        document = every if model is None else by_model.setdefault(model, catalogue.openapi(load_spec(), model))
        return JSONResponse(served_at(document, minted_origin(request.scope, public_url)))

    async def models(request: Request) -> Response:
        """What /docs offers to pick from: each loaded model and its output kind."""
        return JSONResponse([{"model": page.model_id, "output": page.output} for page in catalogue.pages.values()])

    async def listed(request: Request) -> Response:
        """The other APIs and where their specs are served."""
        return JSONResponse([{"api": name, "title": api.title, "spec": f"{SPEC_ROUTE}?api={name}",
                              "factsSource": api.document.get("x-apikley-source"),
                              "factsDate": api.document.get("x-apikley-facts-date")} for name, api in apis.items()])

    return [Route(SPEC_ROUTE, served, methods=["GET"]), Route(MODELS_ROUTE, models, methods=["GET"]),
            Route(APIS_ROUTE, listed, methods=["GET"])]
