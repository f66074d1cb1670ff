"""Settlement: applying task ends as they fall due on the virtual clock, in the order they fall.

A failed generation is refunded, the task is marked settled, and its callback is handed to
the dispatcher (duplicated, delayed or dropped as its outcome says), all in one store step.
Ends are watched in the store as a lower bound (planning waits until a task is read or due),
so creating a task stays cheap and any worker may settle any task.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

import orjson

from mock_server.delivery.callbacks import CallbackDispatcher, Delivery
from mock_server.errors import NO_CALLBACK_URL, TASK_RUNNING, ApiError
from mock_server.services.accounts import Accounts
from mock_server.sim.api_records import ApiRecords
from mock_server.sim.clock import VirtualClock
from mock_server.sim.lifecycle import Timeline
from mock_server.sim.records import callback_payload
from mock_server.sim.task import Task
from mock_server.sim.timelines import Timelines
from mock_server.sim.tokens import Tokens
from mock_server.store.base import TaskStore

BATCH = 256  # task ends looked at per store read
RETRY_MS = 60_000
LOG = logging.getLogger("apikley_mock.settlement")


class Settlement:
    def __init__(self, *, store: TaskStore, clock: VirtualClock, timelines: Timelines, accounts: Accounts,
                 dispatcher: CallbackDispatcher, tokens: Tokens,
                 api_records: Mapping[str, ApiRecords] | None = None) -> None:
        self._tokens = tokens
        self._api_records = dict(api_records or {})
        self._store = store
        self._clock = clock
        self._timelines = timelines
        self._accounts = accounts
        self._dispatcher = dispatcher

    def settle(self) -> None:
        """Apply every task end that is due, in the order the ends fall. Workers sharing the
        store may run this at once: each end is applied by exactly one of them."""
        now = self._clock.now_ms()
        while due := self._store.due_ends(now, BATCH):
            for task_id in due:
                task = self._store.get(task_id)
                timeline = self._timelines(task) if task is not None else None
                if task is None or timeline is None or timeline.end is None:
                    self._store.unwatch(task_id)  # gone, or stuck: a changed outcome is watched anew
                elif timeline.end.at_ms > now:  # its stage callbacks due by now, then its next stage or its end
                    self._store.watch(task_id, self._hand_off_stages(task, timeline, now) or timeline.end.at_ms)
                else:
                    try:
                        self._settle(task, timeline)
                    except Exception:  # one task that cannot be settled holds up no other
                        LOG.exception("settling %s failed; tried again a virtual minute later", task_id)
                        self._store.watch(task_id, now + RETRY_MS)
            if len(due) < BATCH:
                return

    def balance(self, api_key: str) -> float:
        """The key's credits with every end due by now applied (refunds included)."""
        self.settle()
        return self._accounts.balance(api_key)

    def redeliver(self, task: Task) -> None:
        """Send an ended task's callback again, now (an API with staged callbacks: its last)."""
        timeline = self._timelines(task)
        if timeline.end is None or timeline.end.at_ms > self._clock.now_ms():
            raise ApiError(422, TASK_RUNNING.format(task_id=task.task_id))
        if not task.callback_url:
            raise ApiError(422, NO_CALLBACK_URL.format(task_id=task.task_id))
        now = self._clock.now_ms()
        self._dispatcher.schedule(self._deliveries(task, timeline, refund=0.0)[-1][1], now)

    def _settle(self, task: Task, timeline: Timeline) -> None:
        """Refund a failed generation and hand its callbacks to the dispatcher, each due when
        its stage came (or as the task's outcome says), in one step with marking it settled."""
        assert timeline.end is not None
        refund = task.credits if timeline.end.state == "fail" else 0.0  # a failed generation is not charged
        deliveries: list[tuple[int, Delivery]] = []
        mode = task.outcome.callback
        if task.callback_url and mode != "drop":
            self._hand_off_stages(task, timeline, timeline.end.at_ms)  # any its stages had not handed off yet
            due, delivery = self._deliveries(task, timeline, refund=refund)[-1]
            deliveries = self._as_asked(task, due, delivery)
        settled = self._store.settle(task.task_id, refund=refund, initial_balance=self._accounts.initial_balance,
                                     deliveries=[(due, delivery.encode()) for due, delivery in deliveries])
        if settled and task.callback_url and mode == "drop":
            for _, delivery in self._deliveries(task, timeline, refund=refund):
                self._dispatcher.drop(delivery)

    def _hand_off_stages(self, task: Task, timeline: Timeline, now_ms: int) -> int | None:
        """An API with staged callbacks (Suno's text, first): each stage's callback handed to
        the dispatcher once its stage has come, exactly once across processes; returns when the
        next stage comes (None: no more before the end)."""
        if task.api is None or not task.callback_url or task.outcome.callback == "drop" or \
                not self._api_records[task.api].api.staged_callbacks:
            return None
        staged = self._deliveries(task, timeline, refund=0.0)[:-1]  # the last is the end's, sent by _settle
        for index, (due, delivery) in enumerate(staged):
            if due <= now_ms:
                for copy, (at, handed) in enumerate(self._as_asked(task, due, delivery), start=1):
                    self._store.schedule_once(task.api_key, task.task_id, f"stage-{index}.{copy}", at,
                                              handed.encode())
        return min((due for due, _ in staged if due > now_ms), default=None)

    @staticmethod
    def _as_asked(task: Task, due: int, delivery: Delivery) -> list[tuple[int, Delivery]]:
        """A callback as the task's outcome asks: on time, delayed, or twice."""
        if task.outcome.callback == "delay":
            due += round(task.outcome.callback_delay_s * 1000)
        delivery = dataclasses.replace(delivery, due_ms=due)
        if task.outcome.callback == "duplicate":
            return [(due, delivery), (due, dataclasses.replace(delivery, copy=2))]
        return [(due, delivery)]

    def _deliveries(self, task: Task, timeline: Timeline, *, refund: float) -> list[tuple[int, Delivery]]:
        """The task's callbacks, (due, delivery) in order: the market's one at the end, or
        another API's as its mapping says (Suno's at each stage)."""
        assert task.callback_url is not None and timeline.end is not None
        if task.api is not None:
            bodies = self._api_records[task.api].callbacks(task, timeline)
        else:
            # The balance after this task's refund (which is applied in the same step as the hand-off).
            bodies = [(timeline.end.at_ms, callback_payload(
                task, timeline, self._tokens, remained_credits=self._accounts.balance(task.api_key) + refund))]
        return [(due, Delivery(task.task_id, task.api_key, task.callback_url, orjson.dumps(body).decode(),
                               due_ms=due)) for due, body in bodies]
