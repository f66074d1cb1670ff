"""The default store: dicts behind a lock, O(1) lookups whatever the number of tasks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from mock_server.sim.ids import id_number
from mock_server.sim.task import Task
from mock_server.store.base import DELIVERIES_PER_KEY, DeliveryLog, JournalEntry
from mock_server.store.journal import Journal


class MemoryTaskStore:
    """Dicts behind a lock."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._balances: dict[str, float] = {}
        self._settled: set[str] = set()
        self.deliveries: DeliveryLog = Journal[JournalEntry](DELIVERIES_PER_KEY)
        self._lock = threading.Lock()

    def add(self, task: Task) -> None:
        with self._lock:
            if task.task_id in self._tasks:
                raise KeyError(f"task {task.task_id} exists already")
            self._tasks[task.task_id] = task

    def update(self, task: Task) -> None:
        with self._lock:
            if task.task_id not in self._tasks:
                raise KeyError(task.task_id)
            self._tasks[task.task_id] = task

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        with self._lock:
            snapshot = list(self._tasks.values())
        return (task for task in snapshot if api_key is None or task.api_key == api_key)

    def count(self) -> int:
        return len(self._tasks)

    def last_id_number(self) -> int:
        with self._lock:
            numbers = (id_number(task_id) for task_id in self._tasks)
            return max((n for n in numbers if n is not None), default=0)

    def balance(self, api_key: str) -> float | None:
        return self._balances.get(api_key)

    def set_balance(self, api_key: str, balance: float) -> None:
        with self._lock:
            self._balances[api_key] = balance

    def mark_settled(self, task_id: str) -> None:
        with self._lock:
            self._settled.add(task_id)

    def is_settled(self, task_id: str) -> bool:
        return task_id in self._settled

    def unsettled(self) -> Iterator[Task]:
        return (task for task in self.tasks() if task.task_id not in self._settled)

    def mark_callback_done(self, task_id: str) -> None:
        pass  # nothing outlives the process: no callback to resume after a restart

    def callbacks_outstanding(self) -> Iterator[Task]:
        return iter(())

    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            doomed = [t for t, task in self._tasks.items() if api_key is None or task.api_key == api_key]
            for task_id in doomed:
                del self._tasks[task_id]
                self._settled.discard(task_id)
            if api_key is None:
                self._balances.clear()
            else:
                self._balances.pop(api_key, None)
        self.deliveries.clear(api_key)

    def load_clock(self) -> int | None:
        return None  # nothing outlives the process

    def save_clock(self, now_ms: int) -> None:
        pass

    def close(self) -> None:
        pass
