"""The memory store's queues: callback deliveries (a heap by due time), queued scenarios,
rate-limit buckets and the control entries, behind the store's one lock."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable

from mock_server.sim.ratelimit import Rate, take
from mock_server.store.base import (
    DELIVERIES_PER_KEY,
    DeliveryClaim,
    DeliveryLog,
    JournalEntry,
    PendingDelivery,
    RequestLog,
)
from mock_server.store.journal import Journal, RequestJournal


class MemoryQueues:
    def __init__(self, *, journal_size: int) -> None:
        self._due: list[tuple[int, int, str]] = []  # (due, order, id): a heap
        self._deliveries: dict[str, tuple[int, str, str | None, str]] = {}  # id -> (due, delivery, owner, key)
        self._order = itertools.count()
        self._marks: dict[str, tuple[str, set[str]]] = {}  # task id -> (key, marks scheduled once)
        self._queues: dict[tuple[str, str], deque[tuple[bool, str]]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, int]] = {}
        self._control: dict[str, str] = {}
        self.deliveries: DeliveryLog = Journal[JournalEntry](DELIVERIES_PER_KEY)
        self.requests: RequestLog = RequestJournal(journal_size)
        self._lock = threading.Lock()

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None:
        with self._lock:
            self._schedule(api_key, due_ms, delivery)

    def schedule_once(self, api_key: str, task_id: str, mark: str, due_ms: int, delivery: str) -> bool:
        with self._lock:
            marks = self._marks.setdefault(task_id, (api_key, set()))[1]
            if mark in marks:
                return False
            marks.add(mark)
            self._schedule(api_key, due_ms, delivery)
            return True

    def _forget_marks(self, task_ids: Iterable[str]) -> None:
        for task_id in task_ids:
            self._marks.pop(task_id, None)

    def _clear_marks(self, api_key: str | None) -> None:
        self._marks = {task: held for task, held in self._marks.items() if api_key is not None and held[0] != api_key}

    def _schedule(self, api_key: str, due_ms: int, delivery: str) -> None:
        delivery_id = str(next(self._order))
        self._deliveries[delivery_id] = (due_ms, delivery, None, api_key)
        heapq.heappush(self._due, (due_ms, int(delivery_id), delivery_id))

    def claim_deliveries(self, now_ms: int, owner: str, limit: int, wall_s: float) -> list[DeliveryClaim]:
        claimed: list[DeliveryClaim] = []
        with self._lock:
            while self._due and self._due[0][0] <= now_ms and len(claimed) < limit:
                delivery_id = heapq.heappop(self._due)[2]
                if (held := self._deliveries.get(delivery_id)) is not None and held[2] is None:
                    self._deliveries[delivery_id] = (held[0], held[1], owner, held[3])
                    claimed.append((delivery_id, held[1]))
        return claimed

    def finish_delivery(self, delivery_id: str, *, retry_at_ms: int | None = None,
                        delivery: str | None = None) -> None:
        with self._lock:
            held = self._deliveries.pop(delivery_id, None)
            if held is not None and retry_at_ms is not None:
                self._deliveries[delivery_id] = (retry_at_ms, delivery or held[1], None, held[3])
                heapq.heappush(self._due, (retry_at_ms, int(delivery_id), delivery_id))

    def pending_deliveries(self) -> list[PendingDelivery]:
        with self._lock:
            return sorted((held[:3] for held in self._deliveries.values()), key=lambda held: held[0])

    def keep_alive(self, owner: str, until_s: float) -> None:
        pass  # one process: no claim outlives its owner

    def release_claims(self, owner: str | None = None) -> None:
        with self._lock:
            for delivery_id, (due, delivery, held_by, key) in list(self._deliveries.items()):
                if held_by is not None and owner in (None, held_by):
                    self._deliveries[delivery_id] = (due, delivery, None, key)
                    heapq.heappush(self._due, (due, int(delivery_id), delivery_id))

    # -- queued scenarios ---------------------------------------------------------------------
    def push_scenarios(self, api_key: str, operation: str, scenario: str, *, call: bool, times: int) -> None:
        with self._lock:
            self._queues.setdefault((api_key, operation), deque()).extend([(call, scenario)] * times)
            self._count_queued()

    def pop_scenario(self, api_key: str, operation: str, *, call: bool) -> str | None:
        with self._lock:
            queue = self._queues.get((api_key, operation))
            if not queue or queue[0][0] != call:
                return None
            scenario = queue.popleft()[1]
            if not queue:
                del self._queues[(api_key, operation)]
            self._count_queued()
            return scenario

    def queued(self, api_key: str) -> dict[str, list[str]]:
        with self._lock:
            return {operation: [text for _, text in queue]
                    for (key, operation), queue in self._queues.items() if key == api_key}

    def clear_queue(self, api_key: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._queues if api_key is None or k[0] == api_key]:
                del self._queues[key]
            self._count_queued()

    def _count_queued(self) -> None:
        self._control["queued"] = str(sum(len(queue) for queue in self._queues.values()))

    # -- rate limits --------------------------------------------------------------------------
    def take_token(self, api_key: str, operation: str, *, count: int, seconds: float, now_ms: int) -> float | None:
        with self._lock:
            tokens, at = self._buckets.get((api_key, operation), (None, now_ms))
            left, wait = take(tokens, at, Rate(count, seconds), now_ms)
            self._buckets[(api_key, operation)] = (left, now_ms)
            return wait

    def clear_buckets(self, api_key: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._buckets if api_key is None or k[0] == api_key]:
                del self._buckets[key]

    # -- control entries ----------------------------------------------------------------------
    def control(self) -> dict[str, str]:
        return dict(self._control)

    def change_control(self, name: str, change: Callable[[str | None], str]) -> str:
        with self._lock:
            value = self._control[name] = change(self._control.get(name))
            return value
