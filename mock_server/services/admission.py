"""Admission: what may refuse a call, and which outcome a caller asked for, in one place.

Before a body is read (`admit`): maintenance (for operations that document 455), a call
scenario from the `X-Mock-Scenario` header or the key's queue, and the rate limit. Once a
createTask body is valid (`admit_task`): a prompt marker, switched-off features, the callback
URL, and the task outcome asked for by header, marker or queue (a queued task outcome belongs
to the next task actually created, one the balance covers).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from contracts.family.outputs import OutputSpec
from contracts.spec.names import CREATE_TASK, GET_TASK_DETAILS
from mock_server.errors import (
    CALLBACK_PRIVATE,
    CALLBACK_SELF,
    CREATE_RATE_LIMITED,
    FEATURE_DISABLED,
    MAINTENANCE,
    QUERY_RATE_LIMITED,
    SCENARIO_NOT_DOCUMENTED,
    SCENARIO_NOT_FOR_OPERATION,
    ApiError,
)
from mock_server.net import OwnAddresses, Target, target_of
from mock_server.services.accounts import Accounts
from mock_server.services.shared import SharedState
from mock_server.sim import scenarios
from mock_server.sim.clock import VirtualClock
from mock_server.sim.lifecycle import Outcome
from mock_server.sim.ratelimit import Rate, retry_after
from mock_server.store.base import TaskStore

MAINTENANCE_CODE = 455
DEFAULT_OUTCOME = Outcome()


MAX_CACHED_URL = 2048  # characters: longer callBackUrls are parsed each time, never kept


@functools.lru_cache(maxsize=4096)
def _cached_target(url: str) -> Target | None:
    return target_of(url)


def callback_target(url: str) -> Target | None:
    """Where a callBackUrl points. Cached for the short URLs clients repeat (parsing costs more
    than the rest of createTask's checks); `forget_targets` empties the cache (a reset)."""
    return _cached_target(url) if len(url) <= MAX_CACHED_URL else target_of(url)


def forget_targets() -> None:
    _cached_target.cache_clear()


class Admission:
    def __init__(self, *, store: TaskStore, shared: SharedState, clock: VirtualClock, accounts: Accounts,
                 documented: Mapping[str, frozenset[int]], create_rate: Rate | None, query_rate: Rate | None,
                 callback_allow_hosts: tuple[str, ...] = (), own: OwnAddresses | None = None,
                 creates: Iterable[str] = (CREATE_TASK,), queries: Iterable[str] = (GET_TASK_DETAILS,)) -> None:
        """`creates` and `queries`: the operations (of every API) that open a task, and that
        read one: limited at createTask's and recordInfo's rates."""
        self._store = store
        self._own = own or OwnAddresses()
        self._accounts = accounts
        self._shared = shared
        self._clock = clock
        self._documented = documented
        self._callback_allowed = {host.lower() for host in callback_allow_hosts}
        self._creates = frozenset(creates)
        self._rates = {**{name: query_rate for name in queries}, **{name: create_rate for name in self._creates}}

    def admit(self, api_key: str, operation_id: str, header: str | None) -> Outcome | None:
        """Refuse the call (maintenance, a call scenario, the rate limit) or let it in; returns
        the task outcome the header asked for, if any."""
        self._shared.refresh()  # the clock and switches as every worker sees them now
        documented = self._documented.get(operation_id, frozenset())
        if self._shared.toggles.maintenance and MAINTENANCE_CODE in documented:
            raise ApiError(MAINTENANCE_CODE, MAINTENANCE)
        scenario = (scenarios.parse(header, "X-Mock-Scenario") if header is not None
                    else self._queued(api_key, operation_id, call=True))
        if scenario is not None and scenario.per_call:
            self._apply(scenario, operation_id, documented)
        elif scenario is not None and operation_id not in self._creates:
            raise ApiError(422, SCENARIO_NOT_FOR_OPERATION.format(name=scenario.name))
        self._limit(api_key, operation_id)
        return scenario.outcome() if scenario is not None and not scenario.per_call else None

    def _apply(self, scenario: scenarios.Scenario, operation_id: str, documented: frozenset[int]) -> None:
        """A call outcome answers its error (if the operation documents its code); a fault fails
        the call as a network would, or holds its answer back."""
        if scenario.is_fault:
            scenario.apply_fault()
            return
        error = scenario.error(rate_limit_status=429 if operation_id in self._creates else None)
        if error.code not in documented:
            raise ApiError(422, SCENARIO_NOT_DOCUMENTED.format(name=scenario.name, code=error.code,
                                                               operation=operation_id))
        raise error

    def _limit(self, api_key: str, operation_id: str) -> None:
        rate = self._rates.get(operation_id)
        if rate is None or not self._shared.toggles.rate_limits:
            return
        wait = self._store.take_token(api_key, operation_id, count=rate.count, seconds=rate.seconds,
                                      now_ms=self._clock.now_ms())
        if wait is None:
            return
        headers = {"Retry-After": retry_after(wait)}
        seconds = f"{rate.seconds:g}"
        if operation_id in self._creates:  # upstream: a real HTTP 429, and nothing is queued
            raise ApiError(429, CREATE_RATE_LIMITED.format(count=rate.count, seconds=seconds),
                           http_status=429, headers=headers)
        raise ApiError(429, QUERY_RATE_LIMITED.format(count=rate.count, seconds=seconds), headers=headers)

    def admit_task(self, api_key: str, body: Mapping[str, Any], output: OutputSpec, *, cost: float,
                   asked: Outcome | None, operation_id: str = CREATE_TASK) -> Outcome:
        """A valid createTask let in, or refused: a prompt marker naming a call outcome, a
        switched-off feature (505), a callBackUrl on an internal address (422), a balance that
        cannot cover `cost` once an outcome is queued (402, before the queued one is taken).
        Returns the task's outcome: asked for by header, else by marker, else queued, else success."""
        marked = scenarios.from_prompt(body.get("input", {}).get("prompt"))
        if marked is not None and marked.per_call:
            self._apply(marked, operation_id, self._documented.get(operation_id, frozenset()))
            marked = None  # a fault that only held the answer back leaves the task as it is
        self._check_features({"model": body["model"], "resolution": output.resolution, "duration": output.duration})
        self._check_callback_url(body.get("callBackUrl"))
        outcome = asked or (marked.outcome() if marked is not None else None)
        if outcome is None and self._shared.queued:  # a queued outcome is only taken by a task the balance covers
            self._accounts.check(api_key, cost)
            queued = self._queued(api_key, operation_id, call=False)
            outcome = queued.outcome() if queued is not None else None
        return outcome or DEFAULT_OUTCOME

    def _queued(self, api_key: str, operation_id: str, *, call: bool) -> scenarios.Scenario | None:
        if not self._shared.queued:  # the hot path when nothing is queued
            return None
        text = self._store.pop_scenario(api_key, operation_id, call=call)
        return scenarios.parse(text, "queued scenario") if text is not None else None

    def _check_callback_url(self, url: object) -> None:
        """422 for a callBackUrl that is this mock itself, or on an internal address (private,
        link-local ...) not allowed."""
        target = callback_target(url) if isinstance(url, str) and url else None
        if target is None:
            return
        if self._own.includes(target):
            raise ApiError(422, CALLBACK_SELF.format(url=_short_url(url)))
        if target.internal and target.host not in self._callback_allowed:
            raise ApiError(422, CALLBACK_PRIVATE.format(host=target.host))

    def _check_features(self, values: Mapping[str, str]) -> None:
        """505 when a requested `field=value` is switched off."""
        disabled = self._shared.toggles.disabled_features
        if disabled:
            for name, value in values.items():
                if f"{name}={value}" in disabled:
                    raise ApiError(505, FEATURE_DISABLED.format(name=name, value=value))

    # -- control ----------------------------------------------------------------------------

    def enqueue(self, api_key: str, operation_id: str, scenario: scenarios.Scenario, times: int) -> None:
        self._store.push_scenarios(api_key, operation_id, scenario.text, call=scenario.per_call, times=times)
        self._shared.refresh()

    def queued(self, api_key: str) -> dict[str, list[str]]:
        return {operation: [text.split(";")[0].strip() for text in texts]
                for operation, texts in self._store.queued(api_key).items()}

    def clear_queue(self, api_key: str | None = None) -> None:
        self._store.clear_queue(api_key)
        self._shared.refresh()


def _short_url(url: object) -> str:
    text = str(url)
    return text if len(text) <= 100 else text[:100] + "..."
