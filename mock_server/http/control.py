"""The control API under `/__mock__/`: reset, inspect and steer the mock from tests.

JSON in, the API's envelope out, rendered by the one renderer under the `mirror` policy (a
test-facing surface: HTTP status = code). Open to loopback clients; others need
`--admin-token`, presented as `X-Mock-Admin-Token`. Every call that moves time or changes a
task ticks the scheduler, so what is due happens before the answer.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.spec.names import CREATE_TASK, operation_names, short_name
from mock_server.bounded import LATEST_MS
from mock_server.errors import NO_SUCH_TASK, ApiError
from mock_server.http.access import Access
from mock_server.http.inputs import bounded_int, json_body, number
from mock_server.http.journals import Journals
from mock_server.http.origin import minted_origin
from mock_server.http.render import Renderer
from mock_server.services import Services
from mock_server.sim import scenarios
from mock_server.sim.task import Task

Endpoint = Callable[[Request], Awaitable[Any]]
RENDERER = Renderer("mirror")
MAX_SPEED = 1e6  # virtual seconds per wall second: a year in 32 s
MAX_ADVANCE_SECONDS = 1e9  # about 31 years at once
MAX_BALANCE = 1e15


class Control:
    def __init__(self, services: Services, public_url: str | None = None) -> None:
        self.services = services
        self.public_url = public_url
        self.tasks = services.tasks
        self.tick = services.scheduler.tick
        # The market's operations by either name, and every other API's by its operationId.
        self.operations = {**operation_names(), **{name: name for api in services.apis.apis.values()
                                                   for name in api.operations}}
        self.creates = {CREATE_TASK, *(name for api in services.apis.apis.values() for name in api.create)}

    def view(self, task: Task) -> dict[str, Any]:
        timeline = self.tasks.timeline(task)
        return {
            "apiKey": task.api_key,
            "api": task.api or "market",  # whose status endpoint answers `record`
            "model": task.model,
            "state": (state := timeline.at(self.services.clock.now_ms()).state),
            "files": self.services.links.files(task) if state == "success" else [],  # every API's alike
            "record": self.tasks.record(task),
            "timeline": [{"state": stage.state, "at": stage.at_ms} for stage in timeline.stages],
            "outcome": dataclasses.asdict(task.outcome),
            "settled": self.tasks.is_settled(task),
        }

    def task(self, request: Request) -> Task:
        task_id = request.path_params["task_id"]
        task = self.tasks.find(task_id)
        if task is None:
            raise ApiError(404, NO_SUCH_TASK.format(task_id=task_id))
        return task

    async def models(self, request: Request) -> Any:
        """The loaded models: id, source page, output kind, input fields."""
        return self.services.catalogue.describe()

    async def health(self, request: Request) -> Any:
        self.services.shared.refresh()
        return {"status": "ok", "now": self.services.clock.now_ms(), "tasks": self.tasks.count(),
                "uploadBytes": self.services.uploads.used_bytes, "process": self.services.dispatcher.owner}

    async def reset(self, request: Request) -> Any:
        body = await json_body(request)
        self.services.reset(body.get("apiKey"))
        return {"reset": body.get("apiKey") or "everything"}

    async def list_tasks(self, request: Request) -> Any:
        """Oldest first; `limit=N`: only the newest N (what a live table polls)."""
        self.tick()
        tasks = self.tasks.tasks(request.query_params.get("apiKey"))
        if "limit" in request.query_params:
            tasks = iter(deque(tasks, maxlen=bounded_int(request.query_params["limit"], "limit")))
        return [self.view(task) for task in tasks]

    async def seed_task(self, request: Request) -> Any:
        """A task in the state the test needs: {"apiKey", "body": a createTask body, "record": fields}."""
        body = await json_body(request)
        api_key = body.get("apiKey")
        if not isinstance(api_key, str) or not api_key:
            raise ApiError(422, "apiKey: the key the task belongs to is required")
        created = self.services.seeding.seed_task(api_key, body.get("body"), body.get("record", {}),
                                                  origin=minted_origin(request.scope, self.public_url))
        self.tick()
        return created

    async def scenarios(self, request: Request) -> Any:
        """What may be queued: task outcomes (createTask), call outcomes (any operation)."""
        return {"task": sorted(scenarios.TASK_OUTCOMES), "call": sorted(scenarios.CALL_OUTCOMES),
                "fault": sorted(scenarios.FAULTS),
                "operations": sorted({short_name(operation_id) for operation_id in operation_names().values()}),
                "otherApis": {name: sorted(api.operations) for name, api in self.services.apis.apis.items()}}

    async def get_task(self, request: Request) -> Any:
        self.tick()
        return self.view(self.task(request))

    async def set_outcome(self, request: Request) -> Any:
        body = await json_body(request)
        scenario = scenarios.parse(str(body.get("scenario", "")), "scenario")
        if scenario.per_call:
            raise ApiError(422, f"scenario {scenario.name!r} applies to a call, not a task's outcome")
        task = self.tasks.set_outcome(self.task(request).task_id, scenario.outcome())
        self.tick()
        return self.view(task)

    async def force_state(self, request: Request) -> Any:
        body = await json_body(request)
        task = self.tasks.force_state(self.task(request).task_id, str(body.get("state", "")))
        self.tick()
        return self.view(task)

    async def redeliver(self, request: Request) -> Any:
        self.tasks.redeliver(self.task(request).task_id)
        self.tick()
        return {"scheduled": request.path_params["task_id"]}

    async def clock(self, request: Request) -> Any:
        if request.method == "PUT":
            self.services.shared.set_speed(number(await json_body(request), "speed", high=MAX_SPEED))
        self.tick()
        return {"now": self.services.clock.now_ms(), "speed": self.services.clock.speed}

    async def advance(self, request: Request) -> Any:
        seconds = number(await json_body(request), "seconds", high=MAX_ADVANCE_SECONDS)
        if self.services.clock.now_ms() + seconds * 1000 > LATEST_MS:
            raise ApiError(422, f"seconds: the clock would pass {LATEST_MS} (year 9999); reset the mock instead")
        self.services.shared.advance(seconds)
        self.tick()
        return {"now": self.services.clock.now_ms(), "speed": self.services.clock.speed}

    async def balance(self, request: Request) -> Any:
        key = request.path_params["key"]
        if request.method == "PUT":
            self.services.accounts.set_balance(key, number(await json_body(request), "balance", high=MAX_BALANCE))
        return {"apiKey": key, "balance": self.services.settlement.balance(key)}

    async def queue(self, request: Request) -> Any:
        key = request.path_params["key"]
        admission = self.services.admission
        if request.method == "DELETE":
            admission.clear_queue(key)
        elif request.method == "POST":
            body = await json_body(request)
            name = str(body.get("operation", "createTask"))
            if name not in self.operations:
                raise ApiError(422, f"operation: {name!r} is not one of {sorted(self.operations)}")
            times = body.get("times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 10_000:
                raise ApiError(422, "times: must be an integer from 1 to 10000")
            scenario = scenarios.parse(str(body.get("scenario", "")), "scenario")
            operation_id = self.operations[name]
            if not scenario.per_call and operation_id not in self.creates:
                others = ", ".join(sorted(self.creates - {CREATE_TASK}))
                raise ApiError(422, f"scenario {scenario.name!r} is a task outcome: queue it for createTask "
                                    f"or another API's create ({others})")
            admission.enqueue(key, operation_id, scenario, times)
        return {"apiKey": key, "queued": admission.queued(key)}

    async def toggles(self, request: Request) -> Any:
        shared = self.services.shared
        shared.refresh()
        if request.method == "PUT":
            body = await json_body(request)
            changes: dict[str, Any] = {}
            for name, field in (("maintenance", "maintenance"), ("rateLimits", "rate_limits")):
                if name in body:
                    if not isinstance(body[name], bool):
                        raise ApiError(422, f"{name}: must be true or false")
                    changes[field] = body[name]
            if "disabledFeatures" in body:
                features = body["disabledFeatures"]
                if not isinstance(features, list) or not all(isinstance(f, str) and "=" in f for f in features):
                    raise ApiError(422, "disabledFeatures: must be a list of field=value strings")
                changes["disabled_features"] = frozenset(features)
            shared.set_toggles(**changes)
        toggles = shared.toggles
        return {"maintenance": toggles.maintenance, "disabledFeatures": sorted(toggles.disabled_features),
                "rateLimits": toggles.rate_limits}


def guarded(endpoint: Endpoint, access: Access, *, open_to_all: bool = False) -> Endpoint:
    async def handle(request: Request) -> Response:
        try:
            if not open_to_all:
                access.check(request)
            return RENDERER.ok(await endpoint(request))
        except ApiError as exc:
            return RENDERER.response(exc)

    return handle


def control_routes(services: Services, access: Access, public_url: str | None = None) -> list[Route]:
    control, journals = Control(services, public_url), Journals(services)

    def route(path: str, endpoint: Endpoint, methods: list[str], *, open_to_all: bool = False) -> Route:
        return Route(f"/__mock__{path}", guarded(endpoint, access, open_to_all=open_to_all), methods=methods)

    return [
        route("/health", control.health, ["GET"], open_to_all=True),  # readiness, for CI
        route("/models", control.models, ["GET"]),
        route("/reset", control.reset, ["POST"]),
        route("/scenarios", control.scenarios, ["GET"]),
        route("/tasks", control.list_tasks, ["GET"]),
        route("/tasks", control.seed_task, ["POST"]),
        route("/tasks/{task_id}", control.get_task, ["GET"]),
        route("/tasks/{task_id}/outcome", control.set_outcome, ["POST"]),
        route("/tasks/{task_id}/state", control.force_state, ["POST"]),
        route("/tasks/{task_id}/redeliver", control.redeliver, ["POST"]),
        route("/clock", control.clock, ["GET", "PUT"]),
        route("/clock/advance", control.advance, ["POST"]),
        route("/keys/{key}/balance", control.balance, ["GET", "PUT"]),
        route("/keys/{key}/queue", control.queue, ["GET", "POST", "DELETE"]),
        route("/toggles", control.toggles, ["GET", "PUT"]),
        route("/requests", journals.requests, ["GET"]),
        route("/callbacks", journals.callbacks, ["GET"]),
        route("/callbacks/pending", journals.pending, ["GET"]),
        route("/callbacks/flush", journals.flush, ["POST"]),
    ]
