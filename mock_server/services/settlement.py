"""Settlement: applying task ends as they fall due on the virtual clock, in the order they fall.

A failed generation is refunded, the task is marked settled, and its callback is handed to
the dispatcher (duplicated, delayed or dropped as its outcome says). Ends are watched as a
lower bound (planning waits until a task is read or due), so creating a task stays cheap.
"""

from __future__ import annotations

import dataclasses
import heapq

import orjson

from mock_server.delivery.callbacks import CallbackDispatcher, Delivery
from mock_server.errors import NO_CALLBACK_URL, TASK_RUNNING, ApiError
from mock_server.services.accounts import Accounts
from mock_server.sim.clock import VirtualClock
from mock_server.sim.lifecycle import Timeline, earliest_end_ms
from mock_server.sim.records import callback_payload
from mock_server.sim.task import Task
from mock_server.sim.timelines import Timelines
from mock_server.store.base import TaskStore


class Settlement:
    def __init__(self, *, store: TaskStore, clock: VirtualClock, timelines: Timelines, accounts: Accounts,
                 dispatcher: CallbackDispatcher) -> None:
        self._store = store
        self._clock = clock
        self._timelines = timelines
        self._accounts = accounts
        self._dispatcher = dispatcher
        self._ends: list[tuple[int, str]] = []
        for task in store.unsettled():  # after a restart, ends still to settle
            self.watch(task)
        for task in store.callbacks_outstanding():  # settled, but the process stopped before its callback ended
            timeline = timelines(task)
            if timeline.end is not None:
                self._hand_off(task, timeline)

    def watch(self, task: Task) -> None:
        heapq.heappush(self._ends, (earliest_end_ms(task.created_ms, task.outcome), task.task_id))

    def settle(self) -> None:
        """Apply every task end that is due, in the order the ends fall."""
        now = self._clock.now_ms()
        ends = self._ends
        while ends and ends[0][0] <= now:
            task_id = heapq.heappop(ends)[1]
            task = self._store.get(task_id)
            if task is None or self._store.is_settled(task_id):
                continue  # gone, or a duplicate entry of a settled task
            timeline = self._timelines(task)
            if timeline.end is None:
                continue  # stuck: a changed outcome is watched anew
            if timeline.end.at_ms > now:
                heapq.heappush(ends, (timeline.end.at_ms, task_id))  # its real end
                continue
            self._settle(task, timeline)

    def balance(self, api_key: str) -> float:
        """The key's credits with every end due by now applied (refunds included)."""
        self.settle()
        return self._accounts.balance(api_key)

    def redeliver(self, task: Task) -> None:
        """Send an ended task's callback again, now."""
        timeline = self._timelines(task)
        if timeline.end is None or timeline.end.at_ms > self._clock.now_ms():
            raise ApiError(422, TASK_RUNNING.format(task_id=task.task_id))
        if not task.callback_url:
            raise ApiError(422, NO_CALLBACK_URL.format(task_id=task.task_id))
        self._dispatcher.schedule(self._delivery(task, timeline), self._clock.now_ms())

    def forget_missing(self) -> None:
        """Drop watched ends of tasks that are gone (after a reset)."""
        self._ends = [(at, task_id) for at, task_id in self._ends if self._store.get(task_id)]
        heapq.heapify(self._ends)

    def _settle(self, task: Task, timeline: Timeline) -> None:
        assert timeline.end is not None
        if timeline.end.state == "fail":  # a failed generation is not charged
            self._accounts.refund(task.api_key, task.credits)
        self._store.mark_settled(task.task_id)
        self._hand_off(task, timeline)

    def _hand_off(self, task: Task, timeline: Timeline) -> None:
        """The task's callback to the dispatcher, due when the task ended (or as its outcome says)."""
        assert timeline.end is not None
        if not task.callback_url:
            return
        delivery = self._delivery(task, timeline)
        mode, due = task.outcome.callback, timeline.end.at_ms
        if mode == "drop":
            self._dispatcher.drop(delivery)
            return
        if mode == "delay":
            due += round(task.outcome.callback_delay_s * 1000)
        self._dispatcher.schedule(delivery, due)
        if mode == "duplicate":
            self._dispatcher.schedule(dataclasses.replace(delivery, copy=2), due)

    def _delivery(self, task: Task, timeline: Timeline) -> Delivery:
        payload = callback_payload(task, timeline, remained_credits=self._accounts.balance(task.api_key))
        assert task.callback_url is not None
        return Delivery(task.task_id, task.api_key, task.callback_url, orjson.dumps(payload))
