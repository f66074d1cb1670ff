"""The default store: dicts behind one lock, O(1) lookups whatever the number of tasks.
One process only (`shared = False`): the fastest shape, and nothing outlives the process."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator

from mock_server.sim.ratelimit import Rate, take
from mock_server.sim.task import Task
from mock_server.store.base import (
    DELIVERIES_PER_KEY,
    DeliveryClaim,
    DeliveryLog,
    JournalEntry,
    NotEnoughCredits,
    PendingDelivery,
    RequestLog,
)
from mock_server.store.journal import Journal, RequestJournal


class MemoryTaskStore:
    shared = False

    def __init__(self, *, journal_size: int = 1000) -> None:
        self._tasks: dict[str, Task] = {}
        self._balances: dict[str, float] = {}
        self._settled: set[str] = set()
        self._ends: list[tuple[int, str]] = []  # a heap; stale entries are skipped when read
        self._due: list[tuple[int, int, str]] = []  # (due, order, id): a heap
        self._deliveries: dict[str, tuple[int, str, str | None, str]] = {}  # id -> (due, delivery, owner, key)
        self._order = itertools.count()
        self._queues: dict[tuple[str, str], deque[tuple[bool, str]]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, int]] = {}
        self._control: dict[str, str] = {}
        self._number = 0
        self.deliveries: DeliveryLog = Journal[JournalEntry](DELIVERIES_PER_KEY)
        self.requests: RequestLog = RequestJournal(journal_size)
        self._lock = threading.Lock()

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        with self._lock:
            while name is not None:  # numbered here: an id taken moves on to the next number
                self._number = max(task.created_ms, self._number + 1)
                task = task._replace(task_id=name(self._number))
                if task.task_id not in self._tasks:
                    break
            if task.task_id in self._tasks:
                raise KeyError(f"task {task.task_id} exists already")
            balance = self._balances.get(task.api_key, initial_balance)
            if task.credits > balance:
                raise NotEnoughCredits(balance)
            self._balances[task.api_key] = balance - task.credits
            self._tasks[task.task_id] = task
            heapq.heappush(self._ends, (end_ms, task.task_id))
            return task

    def update(self, task: Task, *, end_ms: int) -> None:
        with self._lock:
            if task.task_id not in self._tasks:
                raise KeyError(task.task_id)
            self._tasks[task.task_id] = task
            heapq.heappush(self._ends, (end_ms, task.task_id))

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        with self._lock:
            snapshot = list(self._tasks.values())
        return (task for task in snapshot if api_key is None or task.api_key == api_key)

    def count(self) -> int:
        return len(self._tasks)

    def next_number(self, now_ms: int) -> int:
        with self._lock:
            self._number = max(now_ms, self._number + 1)
            return self._number

    # -- balances -----------------------------------------------------------------------------
    def balance(self, api_key: str) -> float | None:
        return self._balances.get(api_key)

    def set_balance(self, api_key: str, balance: float) -> None:
        with self._lock:
            self._balances[api_key] = balance

    # -- settlement ---------------------------------------------------------------------------
    def due_ends(self, now_ms: int, limit: int) -> list[str]:
        with self._lock:
            due: list[str] = []
            while self._ends and self._ends[0][0] <= now_ms and len(due) < limit:
                task_id = heapq.heappop(self._ends)[1]
                if task_id in self._tasks and task_id not in self._settled and task_id not in due:
                    due.append(task_id)
            return due

    def watch(self, task_id: str, end_ms: int) -> None:
        with self._lock:
            heapq.heappush(self._ends, (end_ms, task_id))

    def unwatch(self, task_id: str) -> None:
        pass  # entries are popped when read: nothing stays watched

    def settle(self, task_id: str, *, refund: float, initial_balance: float,
               deliveries: list[tuple[int, str]]) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task_id in self._settled:
                return False
            self._settled.add(task_id)
            if refund:
                self._balances[task.api_key] = self._balances.get(task.api_key, initial_balance) + refund
            for due_ms, delivery in deliveries:
                self._schedule(task.api_key, due_ms, delivery)
            return True

    def is_settled(self, task_id: str) -> bool:
        return task_id in self._settled

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None:
        with self._lock:
            self._schedule(api_key, due_ms, delivery)

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

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            doomed = {t for t, task in self._tasks.items() if api_key is None or task.api_key == api_key}
            for task_id in doomed:
                del self._tasks[task_id]
                self._settled.discard(task_id)
            if api_key is None:
                self._balances.clear()
            else:
                self._balances.pop(api_key, None)
            for delivery_id, held in list(self._deliveries.items()):
                if api_key is None or held[3] == api_key:
                    del self._deliveries[delivery_id]
        self.clear_queue(api_key)
        self.clear_buckets(api_key)
        self.deliveries.clear(api_key)
        self.requests.clear(api_key)

    def load_clock(self) -> int | None:
        return None  # nothing outlives the process

    def save_clock(self, now_ms: int) -> None:
        pass

    def close(self) -> None:
        pass

