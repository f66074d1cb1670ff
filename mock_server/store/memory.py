"""The default store: dicts behind one lock, O(1) lookups whatever the number of tasks.
One process only (`shared = False`): the fastest shape, and nothing outlives the process.
Tasks, balances and settlement here; deliveries, queues, buckets and control entries in
`memory_queues`."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from mock_server.sim.task import Task
from mock_server.store.base import NotEnoughCredits
from mock_server.store.memory_queues import MemoryQueues


class MemoryTaskStore(MemoryQueues):
    shared = False

    def __init__(self, *, journal_size: int = 1000) -> None:
        super().__init__(journal_size=journal_size)
        self._tasks: dict[str, Task] = {}
        self._balances: dict[str, float] = {}
        self._settled: set[str] = set()
        self._ends: list[tuple[int, str]] = []  # a heap; stale entries are skipped when read
        self._usage: dict[str, list[int]] = {}  # api key -> [tasks, bytes of their param]
        self._number = 0

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int | None, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        with self._lock:
            while name is not None:  # numbered here: an id taken moves on to the next number
                self._number = max(task.created_ms, self._number + 1)
                task = Task(name(self._number), *task[1:])  # a quarter of _replace's cost
                if task.task_id not in self._tasks:
                    break
            if task.task_id in self._tasks:
                raise KeyError(f"task {task.task_id} exists already")
            balance = self._balances.get(task.api_key, initial_balance)
            if task.credits > balance:
                raise NotEnoughCredits(balance)
            self._balances[task.api_key] = balance - task.credits
            self._put(task, end_ms)
            usage = self._usage.setdefault(task.api_key, [0, 0])
            usage[0] += 1
            usage[1] += len(task.param)
            return task

    def update(self, task: Task, *, end_ms: int | None) -> None:
        with self._lock:
            if task.task_id not in self._tasks:
                raise KeyError(task.task_id)
            self._put(task, end_ms)

    def _put(self, task: Task, end_ms: int | None) -> None:
        self._tasks[task.task_id] = task
        if end_ms is not None:  # watched for settlement from then
            heapq.heappush(self._ends, (end_ms, task.task_id))

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        with self._lock:
            snapshot = list(self._tasks.values())
        return (task for task in snapshot if api_key is None or task.api_key == api_key)

    def count(self) -> int:
        return len(self._tasks)

    def usage(self, api_key: str) -> tuple[int, int]:
        count, size = self._usage.get(api_key, (0, 0))
        return count, size

    def forget(self, task_ids: list[str]) -> None:
        with self._lock:
            self._forget_marks(task_ids)
            for task_id in task_ids:
                task = self._tasks.pop(task_id, None)
                if task is not None:
                    self._settled.discard(task_id)
                    usage = self._usage[task.api_key]
                    usage[0] -= 1
                    usage[1] -= len(task.param)

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
        if not self._ends or self._ends[0][0] > now_ms:  # the usual answer, without the lock
            return []
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
        """Entries are popped when read: nothing stays watched."""

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

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            doomed = {t for t, task in self._tasks.items() if api_key is None or task.api_key == api_key}
            for task_id in doomed:
                del self._tasks[task_id]
                self._settled.discard(task_id)
            if api_key is None:
                self._usage.clear()
            else:
                self._usage.pop(api_key, None)
            if api_key is None:
                self._balances.clear()
            else:
                self._balances.pop(api_key, None)
            for delivery_id, held in list(self._deliveries.items()):
                if api_key is None or held[3] == api_key:
                    del self._deliveries[delivery_id]
            self._clear_marks(api_key)
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

