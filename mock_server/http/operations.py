"""The API's routes: every operation of the spec at its path and method, through the one
pipeline. This table is all that differs between operations: the service method each calls,
and its surface (the upload operations answer in the upload envelope variant).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from starlette.routing import Route

from contracts.apis import Api
from contracts.spec.names import (
    CREATE_TASK,
    FILE_BASE64_UPLOAD,
    FILE_STREAM_UPLOAD,
    FILE_URL_UPLOAD,
    GET_ACCOUNT_CREDITS,
    GET_DOWNLOAD_URL,
    GET_MODEL_PATHS,
    GET_TASK_DETAILS,
    LEGACY_PATHS,
    UPLOADS,
)
from contracts.spec.validators import RequestValidator, compile_operation
from mock_server.http.auth import KeyRing
from mock_server.http.pipeline import Call, OperationEndpoint
from mock_server.http.readers import MULTIPART, BodyReader, JsonReader, MultipartReader
from mock_server.http.render import Renderer
from mock_server.services import Services
from mock_server.services.apis import ApiService
from mock_server.settings import Settings
from mock_server.urls import UPLOAD_PREFIX

BASE64_GROWTH = 4 / 3  # a base64 body is a third larger than the file it carries
JSON_OVERHEAD = 64 * 1024


def service_calls(services: Services) -> Mapping[str, Callable[[Call], Any]]:
    tasks, links, uploads, settlement = services.tasks, services.links, services.uploads, services.settlement
    return {
        CREATE_TASK: lambda call: tasks.create_task(call.api_key, call.body, origin=call.origin,
                                                    outcome=call.outcome),
        # The origin (for replayed result URLs) is worked out only when a recording is replayed.
        GET_TASK_DETAILS: (lambda call: tasks.get_task_details(call.api_key, call.query["taskId"]))
        if services.replay is None else
        (lambda call: tasks.get_task_details(call.api_key, call.query["taskId"], call.origin)),
        GET_ACCOUNT_CREDITS: lambda call: settlement.balance(call.api_key),
        GET_MODEL_PATHS: lambda call: list(services.catalogue.pages),
        GET_DOWNLOAD_URL: lambda call: links.get_download_url(call.api_key, call.body["url"], own=call.own_origins),
        FILE_STREAM_UPLOAD: _awaiting(lambda call: uploads.file_stream_upload(call.api_key, call.body, call.file or b"",
                                                                              origin=call.files_origin)),
        FILE_URL_UPLOAD: _awaiting(lambda call: uploads.file_url_upload(call.api_key, call.body,
                                                                        origin=call.files_origin,
                                                                        own=call.own_origins)),
        FILE_BASE64_UPLOAD: _awaiting(lambda call: uploads.file_base64_upload(call.api_key, call.body,
                                                                              origin=call.files_origin)),
    }


def _recorded(answer: Callable[[str, str], Any], method: str, path: str, call: Call) -> Any:
    return answer(method, path)


def _awaiting(call: Callable[[Call], Any]) -> Callable[[Call], Any]:
    async def awaited(request: Call) -> Any:
        return await call(request)

    return awaited


def reader_for(validator: RequestValidator, settings: Settings, *, creates: bool = False) -> BodyReader | None:
    """`creates`: another API's operation that opens a task (as createTask does)."""
    if validator.media_type is None:
        return None
    operation_id, seconds = validator.operation.operation_id, settings.body_timeout_seconds
    if validator.media_type == MULTIPART:
        return MultipartReader(settings.max_upload_bytes, seconds)
    if operation_id in UPLOADS:
        return JsonReader(int(settings.max_upload_bytes * BASE64_GROWTH) + JSON_OVERHEAD, seconds)
    # A create's body is kept with its task: its bound is the smaller one.
    limit = min(settings.max_body_bytes, settings.max_create_body_bytes) if creates or operation_id == CREATE_TASK \
        else settings.max_body_bytes
    return JsonReader(limit, seconds)


def api_routes(services: Services, validators: Mapping[str, RequestValidator], settings: Settings) -> list[Route]:
    """One route per operation of the spec, at its path and method (and its legacy path)."""
    calls = service_calls(services)
    if services.replay is not None and services.replay.strict:  # only what the recording answers
        replay = services.replay
        for operation_id, validator in validators.items():
            if operation_id not in (CREATE_TASK, GET_TASK_DETAILS):
                op = validator.operation
                calls = {**calls, operation_id: functools.partial(_recorded, replay.answer, op.method, op.path)}
    missing = sorted(set(validators) - set(calls))
    if missing:
        raise RuntimeError(f"the spec has operations the mock does not serve: {missing}")
    policy, keys = settings.status_policy, KeyRing(settings.api_keys)
    api, upload = Renderer(policy), Renderer(policy, upload=True)
    routes = [
        Route(validator.operation.path,
              OperationEndpoint(validator, calls[operation_id],
                                reader=reader_for(validator, settings),
                                renderer=upload if operation_id in UPLOADS else api, keys=keys,
                                admission=services.admission, journal=services.requests, clock=services.clock,
                                own=services.own, public_url=settings.public_url),
              methods=[validator.operation.method])
        for operation_id, validator in validators.items()
    ]
    routes += other_api_routes(services, settings, keys=keys, renderer=api)
    by_path = {route.path: route for route in routes}
    aliases = {**LEGACY_PATHS, **{UPLOAD_PREFIX + validators[operation_id].operation.path:
                                  validators[operation_id].operation.path for operation_id in UPLOADS}}
    return [*routes, *(Route(alias, by_path[path].endpoint, methods=by_path[path].methods)
                       for alias, path in aliases.items())]


def other_api_routes(services: Services, settings: Settings, *, keys: KeyRing, renderer: Renderer) -> list[Route]:
    """Every operation of the other APIs' specs (Veo, Suno ...), through the same pipeline:
    a create opens a task, the status operation reads one, a side operation answers from one."""
    engine, routes = services.apis, []
    for api in engine.apis.values():
        roles = {**{name: functools.partial(_create, engine, api, name) for name in api.create},
                 api.status.operation_id: functools.partial(_status, engine, api),
                 **{name: functools.partial(_side, engine, api, name) for name in api.sides}}
        for operation_id, operation in api.operations.items():  # each has a role: the mapping is checked
            validator = compile_operation(operation)
            reader = reader_for(validator, settings, creates=operation_id in api.create)
            routes.append(Route(operation.path, OperationEndpoint(
                validator, roles[operation_id], reader=reader,
                renderer=renderer, keys=keys, admission=services.admission, journal=services.requests,
                clock=services.clock, own=services.own, public_url=settings.public_url), methods=[operation.method]))
    return routes


def _create(engine: ApiService, api: Api, operation_id: str, call: Call) -> Any:
    return engine.create(api, operation_id, call.api_key, call.body, origin=call.origin, outcome=call.outcome)


def _status(engine: ApiService, api: Api, call: Call) -> Any:
    return engine.status(api, call.api_key, call.query["taskId"])


def _side(engine: ApiService, api: Api, operation_id: str, call: Call) -> Any:
    return engine.side(api, operation_id, call.api_key, {**call.query, **(call.body or {})})
