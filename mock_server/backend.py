"""The rules of the API, one method per operation, raising `ApiError`s.

HTTP and storage are adapters around it: handlers parse, call one method here, and render.
It also settles tasks as they end on the virtual clock (refunds a failed generation,
hands the callback to the dispatcher), in the order their ends fall.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import heapq
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from contracts.lifecycle import TERMINAL
from contracts.spec import operation, operations
from mock_server.callbacks import CallbackDispatcher, Delivery
from mock_server.clock import VirtualClock
from mock_server.errors import (
    CREATE_RATE_LIMITED,
    FEATURE_DISABLED,
    INSUFFICIENT_CREDITS,
    MAINTENANCE,
    NOT_GENERATED_HERE,
    QUERY_RATE_LIMITED,
    RECORD_NOT_FOUND,
    SCENARIO_NOT_DOCUMENTED,
    SCENARIO_NOT_FOR_OPERATION,
    TASK_ENDED,
    ApiError,
)
from mock_server.ids import TaskIdGenerator
from mock_server.journal import Journal
from mock_server.lifecycle import Outcome, Timeline, earliest_end_ms, plan_timeline
from mock_server.ratelimit import Rate, RateLimiter, retry_after
from mock_server.records import callback_payload, result_urls, task_record
from mock_server.scenarios import OutcomeQueue, Scenario, forced, from_prompt
from mock_server.settings import Settings
from mock_server.store import Task, TaskStore

CREATE_TASK = "bytedance-v1-pro-fast-image-to-video"
GET_TASK_DETAILS = "get-task-details"
GC_FREEZE_EVERY = 1000


def input_defaults() -> dict[str, Any]:
    """createTask's `input` defaults (resolution, duration), read from the spec."""
    body = operation(CREATE_TASK).definition["requestBody"]["content"]["application/json"]
    properties = body["schema"]["properties"]["input"]["properties"]
    return {name: field["default"] for name, field in properties.items() if "default" in field}


def documented_codes() -> dict[str, frozenset[int]]:
    """The statuses each operation documents: the only codes a call scenario may produce."""
    return {op.operation_id: frozenset(int(status) for status in op.definition["responses"]
                                       if status.isdigit()) for op in operations()}


DEFAULT_OUTCOME = Outcome()
TIMELINE_CACHE_SIZE = 200_000


class TimelineCache:
    """Timelines are pure, so a polled task is planned once. Keyed by task id and checked
    against the task it was planned for (a changed outcome plans anew); oldest out first."""

    def __init__(self, seed: int, size: int = TIMELINE_CACHE_SIZE) -> None:
        self._seed = seed
        self._size = size
        self._entries: OrderedDict[str, tuple[Task, Timeline]] = OrderedDict()

    def __call__(self, task: Task) -> Timeline:
        cached = self._entries.get(task.task_id)
        if cached is not None and (cached[0] is task or cached[0] == task):
            return cached[1]
        timeline = plan_timeline(task_id=task.task_id, created_ms=task.created_ms,
                                 resolution=task.resolution, duration=task.duration,
                                 seed=self._seed, outcome=task.outcome)
        if len(self._entries) >= self._size:
            self._entries.popitem(last=False)  # O(1); deleting a dict's first key is not
        self._entries[task.task_id] = (task, timeline)
        return timeline


@dataclass
class Toggles:
    """Switches the control API may flip at run time."""

    maintenance: bool = False
    disabled_features: set[str] = field(default_factory=set)


class Backend:
    def __init__(self, settings: Settings, *, clock: VirtualClock, store: TaskStore,
                 dispatcher: CallbackDispatcher | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.dispatcher = dispatcher
        self.toggles = Toggles(settings.maintenance, set(settings.disabled_features))
        self.queue = OutcomeQueue()
        self.requests = Journal(settings.journal_size)
        self._limits = {
            CREATE_TASK: RateLimiter(Rate.parse(settings.create_rate_limit), clock.now_ms),
            GET_TASK_DETAILS: RateLimiter(Rate.parse(settings.query_rate_limit), clock.now_ms),
        }
        self._ids = TaskIdGenerator(clock.now_ms, last_issued=store.last_id_number())
        self._timelines = TimelineCache(settings.seed)
        # Signs download-url links. Derived from the seed, as everything else: not a secret.
        self._link_secret = hashlib.sha256(f"apikley-mock-links:{settings.seed}".encode()).digest()
        self._defaults = input_defaults()
        self._documented = documented_codes()
        self._created = 0
        self._ends: list[tuple[int, str]] = []
        for task in store.unsettled():  # after a restart, ends still to settle
            self._watch(task)

    # -- rules shared by operations -------------------------------------------------------

    def price(self, resolution: str, duration: str) -> float:
        return self.settings.prices[f"{resolution}/{duration}"]

    def balance(self, api_key: str) -> float:
        self.settle()
        stored = self.store.balance(api_key)
        return self.settings.initial_balance if stored is None else stored

    def timeline(self, task: Task) -> Timeline:
        return self._timelines(task)

    def admit(self, api_key: str, operation_id: str, scenario: Scenario | None) -> Outcome | None:
        """What may refuse a call before its body is read: maintenance, a call scenario
        (from the header or the key's queue), the rate limit. Returns a task outcome asked for."""
        if self.toggles.maintenance:
            raise ApiError(455, MAINTENANCE)
        scenario = scenario or self.queue.pop(api_key, operation_id, calls=True)
        if scenario is not None:
            if scenario.is_call_outcome:
                error = scenario.error(rate_limit_status=429 if operation_id == CREATE_TASK else None)
                if error.code not in self._documented.get(operation_id, frozenset()):
                    raise ApiError(422, SCENARIO_NOT_DOCUMENTED.format(
                        name=scenario.name, code=error.code, operation=operation_id))
                raise error
            if operation_id != CREATE_TASK:
                raise ApiError(422, SCENARIO_NOT_FOR_OPERATION.format(name=scenario.name))
        limiter = self._limits.get(operation_id)
        wait = limiter.take(api_key) if limiter is not None else None
        if wait is not None and limiter is not None and limiter.rate is not None:
            rate = limiter.rate
            if operation_id == CREATE_TASK:  # upstream: a real HTTP 429, not queued
                raise ApiError(429, CREATE_RATE_LIMITED.format(count=rate.count, seconds=f"{rate.seconds:g}"),
                               http_status=429, headers={"Retry-After": retry_after(wait)})
            raise ApiError(429, QUERY_RATE_LIMITED.format(count=rate.count, seconds=f"{rate.seconds:g}"),
                           headers={"Retry-After": retry_after(wait)})
        return scenario.outcome() if scenario is not None else None

    # -- operations -----------------------------------------------------------------------

    def create_task(self, api_key: str, body: dict[str, Any], *, origin: str,
                    outcome: Outcome | None = None) -> dict[str, Any]:
        given = body.get("input", {})
        marked = from_prompt(given.get("prompt"))
        if marked is not None:
            if marked.is_call_outcome:
                raise marked.error(rate_limit_status=429)
            outcome = outcome or marked.outcome()
        resolution = given.get("resolution", self._defaults["resolution"])
        duration = given.get("duration", self._defaults["duration"])
        if self.toggles.disabled_features:
            for name, value in (("resolution", resolution), ("duration", duration)):
                if f"{name}={value}" in self.toggles.disabled_features:
                    raise ApiError(505, FEATURE_DISABLED.format(name=name, value=value))
        cost = self.price(resolution, duration)
        balance = self.balance(api_key)
        if cost > balance:
            raise ApiError(402, INSUFFICIENT_CREDITS.format(cost=cost, balance=balance))
        if outcome is None:  # a queued task outcome belongs to the next task actually created
            queued = self.queue.pop(api_key, CREATE_TASK, calls=False)
            outcome = queued.outcome() if queued is not None else None
        now = self.clock.now_ms()
        task = Task(self._ids.next_id(now), api_key, body["model"], orjson.dumps(body).decode(),
                    resolution, duration, body.get("callBackUrl"), now, origin, cost,
                    outcome or DEFAULT_OUTCOME)
        self.store.add(task)
        self.store.set_balance(api_key, balance - cost)
        self._watch(task)
        self._created += 1
        if self._created % GC_FREEZE_EVERY == 0:
            # Stored tasks live until reset; freezing them keeps full GC passes (and the p99
            # latency they cause) from growing with the store.
            gc.freeze()
        return {"taskId": task.task_id}

    def get_task_details(self, api_key: str, task_id: str) -> dict[str, Any]:
        task = self.owned_task(api_key, task_id)
        return task_record(task, self.timeline(task), self.clock.now_ms())

    def get_account_credits(self, api_key: str) -> float:
        return self.balance(api_key)

    def get_download_url(self, api_key: str, url: str) -> str:
        """A temporary link (download_url_ttl_seconds) to a result this mock generated."""
        parts = urlsplit(url)
        name = parts.path.rsplit("/", 1)[-1]
        task = self.store.get(name.removesuffix(".mp4")) if parts.path.startswith("/results/") else None
        if (task is None or task.api_key != api_key or url.split("?")[0] != result_urls(task)[0]
                or not self.result_available(task)):
            raise ApiError(422, NOT_GENERATED_HERE)
        expires = self.clock.now_ms() + round(self.settings.download_url_ttl_seconds * 1000)
        return f"{result_urls(task)[0]}?expires={expires}&token={self.link_token(task.task_id, expires)}"

    def result_available(self, task: Task) -> bool:
        """Ended in success, and still within result_ttl_seconds of its end."""
        end = self.timeline(task).end
        now = self.clock.now_ms()
        return (end is not None and end.state == "success" and end.at_ms <= now
                and now <= end.at_ms + self.settings.result_ttl_seconds * 1000)

    def link_token(self, task_id: str, expires_ms: int) -> str:
        return hmac.new(self._link_secret, f"{task_id}:{expires_ms}".encode(), hashlib.sha256).hexdigest()[:32]

    # -- control --------------------------------------------------------------------------

    def owned_task(self, api_key: str | None, task_id: str) -> Task:
        """The task, if it exists for this key (any key when None) and its record has not
        expired (record_ttl_seconds): else recordInfo is null."""
        task = self.store.get(task_id)
        if task is None or (api_key is not None and task.api_key != api_key):
            raise ApiError(422, RECORD_NOT_FOUND)
        if self.clock.now_ms() > task.created_ms + self.settings.record_ttl_seconds * 1000:
            raise ApiError(422, RECORD_NOT_FOUND)
        return task

    def set_outcome(self, task_id: str, outcome: Outcome) -> Task:
        task = self.owned_task(None, task_id)
        if self.timeline(task).at(self.clock.now_ms()).state in TERMINAL:
            raise ApiError(422, TASK_ENDED.format(task_id=task_id))
        changed = task._replace(outcome=outcome)
        self.store.update(changed)
        self._watch(changed)
        self.settle()
        return changed

    def force_state(self, task_id: str, state: str) -> Task:
        task = self.owned_task(None, task_id)
        return self.set_outcome(task_id, forced(task.outcome, state, self.clock.now_ms()))

    def redeliver(self, task_id: str) -> None:
        task = self.owned_task(None, task_id)
        timeline = self.timeline(task)
        if timeline.end is None or timeline.end.at_ms > self.clock.now_ms():
            raise ApiError(422, f"task {task_id} has not ended: nothing to deliver yet")
        if not task.callback_url or self.dispatcher is None:
            raise ApiError(422, f"task {task_id} has no callBackUrl")
        self.dispatcher.schedule(self._delivery(task, timeline), self.clock.now_ms())

    def reset(self, api_key: str | None = None) -> None:
        self.store.clear(api_key)
        self.queue.clear(api_key)
        self.requests.clear(api_key)
        for limiter in self._limits.values():
            limiter.reset(api_key)
        if self.dispatcher is not None:
            self.dispatcher.clear(api_key)
        self._ends = [(at, task_id) for at, task_id in self._ends if self.store.get(task_id)]
        heapq.heapify(self._ends)

    # -- settling ended tasks ---------------------------------------------------------------

    def _watch(self, task: Task) -> None:
        # A lower bound, not the planned end: planning waits until the task is read or due.
        heapq.heappush(self._ends, (earliest_end_ms(task.created_ms, task.outcome), task.task_id))

    def settle(self) -> None:
        """Apply every task end that is due, in the order the ends fall."""
        now = self.clock.now_ms()
        if not self._ends or self._ends[0][0] > now:
            return
        while self._ends and self._ends[0][0] <= now:
            task_id = heapq.heappop(self._ends)[1]
            task = self.store.get(task_id)
            if task is None or self.store.is_settled(task_id):
                continue  # gone, or a duplicate entry of a settled task
            timeline = self.timeline(task)
            if timeline.end is None:
                continue  # stuck: a changed outcome is watched anew
            if timeline.end.at_ms > now:
                heapq.heappush(self._ends, (timeline.end.at_ms, task_id))  # its real end
                continue
            self._settle(task, timeline)

    def _settle(self, task: Task, timeline: Timeline) -> None:
        assert timeline.end is not None
        if timeline.end.state == "fail":  # a failed generation is not charged
            stored = self.store.balance(task.api_key)
            balance = self.settings.initial_balance if stored is None else stored
            self.store.set_balance(task.api_key, balance + task.credits)
        self.store.mark_settled(task.task_id)
        if task.callback_url and self.dispatcher is not None:
            delivery = self._delivery(task, timeline)
            mode, due = task.outcome.callback, timeline.end.at_ms
            if mode == "drop":
                self.dispatcher.drop(delivery)
                return
            if mode == "delay":
                due += round(task.outcome.callback_delay_s * 1000)
            self.dispatcher.schedule(delivery, due)
            if mode == "duplicate":
                self.dispatcher.schedule(dataclasses.replace(delivery, copy=2), due)

    def _delivery(self, task: Task, timeline: Timeline) -> Delivery:
        stored = self.store.balance(task.api_key)
        remained = self.settings.initial_balance if stored is None else stored
        payload = callback_payload(task, timeline, remained_credits=remained)
        assert task.callback_url is not None
        return Delivery(task.task_id, task.api_key, task.callback_url, orjson.dumps(payload))
