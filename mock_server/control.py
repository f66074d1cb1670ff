"""The control API under `/__mock__/`: reset, inspect and steer the mock from tests.

JSON in, the API's envelope out, with HTTP status equal to `code`. Open to loopback
clients; others need `--admin-token`, presented as `X-Mock-Admin-Token`.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.spec import operations
from mock_server import scenarios
from mock_server.backend import Backend
from mock_server.callbacks import is_loopback
from mock_server.errors import ApiError
from mock_server.http import envelope, parse_json
from mock_server.records import task_record
from mock_server.store import Task

ADMIN_HEADER = "x-mock-admin-token"
Endpoint = Callable[[Request], Awaitable[Any]]


def operation_names() -> dict[str, str]:
    """Queue targets by operationId or by the path's last segment (createTask, recordInfo)."""
    names = {}
    for op in operations():
        names[op.operation_id] = op.operation_id
        names[op.path.rstrip("/").rsplit("/", 1)[-1]] = op.operation_id
    return names


class Control:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.operations = operation_names()

    def tick(self) -> None:
        """Settle what has ended and start due deliveries (also run by the app's ticker)."""
        self.backend.settle()
        if self.backend.dispatcher is not None:
            self.backend.dispatcher.pump()
        self.backend.store.save_clock(self.backend.clock.now_ms())

    def view(self, task: Task) -> dict[str, Any]:
        timeline = self.backend.timeline(task)
        return {
            "apiKey": task.api_key,
            "record": task_record(task, timeline, self.backend.clock.now_ms()),
            "timeline": [{"state": stage.state, "at": stage.at_ms} for stage in timeline.stages],
            "outcome": dataclasses.asdict(task.outcome),
            "settled": self.backend.store.is_settled(task.task_id),
        }

    def task(self, task_id: str) -> Task:
        task = self.backend.store.get(task_id)
        if task is None:
            raise ApiError(404, f"no task {task_id!r}")
        return task

    # -- endpoints ------------------------------------------------------------------------

    async def reset(self, request: Request) -> Any:
        body = await optional_json(request)
        self.backend.reset(body.get("apiKey"))
        return {"reset": body.get("apiKey") or "everything"}

    async def list_tasks(self, request: Request) -> Any:
        self.tick()
        return [self.view(task) for task in self.backend.store.tasks(request.query_params.get("apiKey"))]

    async def get_task(self, request: Request) -> Any:
        self.tick()
        return self.view(self.task(request.path_params["task_id"]))

    async def set_outcome(self, request: Request) -> Any:
        body = await optional_json(request)
        scenario = scenarios.parse(str(body.get("scenario", "")), "scenario")
        if scenario.is_call_outcome:
            raise ApiError(422, f"scenario {scenario.name!r} is a call outcome, not a task outcome")
        task = self.backend.set_outcome(self.task(request.path_params["task_id"]).task_id,
                                        scenario.outcome())
        self.tick()
        return self.view(task)

    async def force_state(self, request: Request) -> Any:
        body = await optional_json(request)
        task = self.backend.force_state(self.task(request.path_params["task_id"]).task_id,
                                        str(body.get("state", "")))
        self.tick()
        return self.view(task)

    async def redeliver(self, request: Request) -> Any:
        self.backend.redeliver(self.task(request.path_params["task_id"]).task_id)
        self.tick()
        return {"scheduled": request.path_params["task_id"]}

    async def clock(self, request: Request) -> Any:
        clock = self.backend.clock
        if request.method == "PUT":
            body = await optional_json(request)
            speed = body.get("speed")
            if not isinstance(speed, int | float) or isinstance(speed, bool) or speed < 0:
                raise ApiError(422, "speed: must be a number >= 0")
            clock.set_speed(float(speed))
        return {"now": clock.now_ms(), "speed": clock.speed}

    async def advance(self, request: Request) -> Any:
        body = await optional_json(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 10**9:
            raise ApiError(422, "seconds: must be a number between 0 and 1e9")
        self.backend.clock.advance(float(seconds))
        self.tick()
        return {"now": self.backend.clock.now_ms(), "speed": self.backend.clock.speed}

    async def balance(self, request: Request) -> Any:
        key = request.path_params["key"]
        if request.method == "PUT":
            body = await optional_json(request)
            value = body.get("balance")
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ApiError(422, "balance: must be a number >= 0")
            self.backend.store.set_balance(key, float(value))
        return {"apiKey": key, "balance": self.backend.balance(key)}

    async def queue(self, request: Request) -> Any:
        key = request.path_params["key"]
        if request.method == "DELETE":
            self.backend.queue.clear(key)
        elif request.method == "POST":
            body = await optional_json(request)
            name = str(body.get("operation", "createTask"))
            if name not in self.operations:
                raise ApiError(422, f"operation: {name!r} is not one of {sorted(self.operations)}")
            times = body.get("times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 10_000:
                raise ApiError(422, "times: must be an integer from 1 to 10000")
            scenario = scenarios.parse(str(body.get("scenario", "")), "scenario")
            operation_id = self.operations[name]
            if not scenario.is_call_outcome and operation_id != "bytedance-v1-pro-fast-image-to-video":
                raise ApiError(422, f"scenario {scenario.name!r} is a task outcome: queue it for createTask")
            self.backend.queue.push(key, operation_id, scenario, times)
        return {"apiKey": key, "queued": self.backend.queue.pending(key)}

    async def toggles(self, request: Request) -> Any:
        toggles = self.backend.toggles
        if request.method == "PUT":
            body = await optional_json(request)
            if "maintenance" in body:
                if not isinstance(body["maintenance"], bool):
                    raise ApiError(422, "maintenance: must be true or false")
                toggles.maintenance = body["maintenance"]
            if "disabledFeatures" in body:
                features = body["disabledFeatures"]
                if not isinstance(features, list) or not all(isinstance(f, str) and "=" in f for f in features):
                    raise ApiError(422, "disabledFeatures: must be a list of field=value strings")
                toggles.disabled_features = set(features)
        return {"maintenance": toggles.maintenance, "disabledFeatures": sorted(toggles.disabled_features)}

    async def requests(self, request: Request) -> Any:
        return self.backend.requests.entries(request.query_params.get("apiKey"))

    async def callbacks(self, request: Request) -> Any:
        return self.deliveries(request.query_params.get("apiKey"), request.query_params.get("taskId"))

    async def flush(self, request: Request) -> Any:
        """Wait for in-flight deliveries (of `taskId`, or all), then report them."""
        task_id = request.query_params.get("taskId")
        self.tick()
        dispatcher = self.backend.dispatcher
        if dispatcher is not None:
            await dispatcher.flush(task_id)
        pending = dispatcher.pending(task_id) if dispatcher is not None else []
        return {"deliveries": self.deliveries(None, task_id), "pending": pending}

    def deliveries(self, api_key: str | None, task_id: str | None) -> list[dict[str, Any]]:
        entries = self.backend.store.deliveries.entries(api_key)
        return [entry for entry in entries if task_id is None or entry["taskId"] == task_id]


async def optional_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(422, "body: must be a JSON object")
    return body


def guarded(endpoint: Endpoint, admin_token: str | None) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        client = request.client.host if request.client else ""
        token = request.headers.get(ADMIN_HEADER, "")
        trusted = is_loopback(client) or (
            admin_token is not None and hmac.compare_digest(token.encode(), admin_token.encode()))
        if not trusted:
            return envelope(403, "the control API is open to loopback clients, or with "
                                 "X-Mock-Admin-Token", status=403)
        try:
            data = await endpoint(request)
        except ApiError as exc:
            return envelope(exc.code, exc.msg, status=exc.code if exc.code >= 400 else 422)
        return envelope(200, "success", data)

    return handle


def control_routes(control: Control, admin_token: str | None) -> list[Route]:
    def route(path: str, endpoint: Endpoint, methods: list[str]) -> Route:
        return Route(f"/__mock__{path}", guarded(endpoint, admin_token), methods=methods)

    return [
        route("/reset", control.reset, ["POST"]),
        route("/tasks", control.list_tasks, ["GET"]),
        route("/tasks/{task_id}", control.get_task, ["GET"]),
        route("/tasks/{task_id}/outcome", control.set_outcome, ["POST"]),
        route("/tasks/{task_id}/state", control.force_state, ["POST"]),
        route("/tasks/{task_id}/redeliver", control.redeliver, ["POST"]),
        route("/clock", control.clock, ["GET", "PUT"]),
        route("/clock/advance", control.advance, ["POST"]),
        route("/keys/{key}/balance", control.balance, ["GET", "PUT"]),
        route("/keys/{key}/queue", control.queue, ["GET", "POST", "DELETE"]),
        route("/toggles", control.toggles, ["GET", "PUT"]),
        route("/requests", control.requests, ["GET"]),
        route("/callbacks", control.callbacks, ["GET"]),
        route("/callbacks/flush", control.flush, ["POST"]),
    ]
