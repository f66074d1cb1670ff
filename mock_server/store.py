"""Where tasks and balances live: the `TaskStore` protocol and its in-memory implementation.

Stores hold facts as they were acknowledged (a task's request, creation time and planned
outcome); states are derived from them and the clock, never stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import NamedTuple, Protocol

from mock_server.ids import id_number
from mock_server.lifecycle import Outcome


class Task(NamedTuple):
    """A task as acknowledged. A NamedTuple: immutable, hashable, and cheap to build on the
    createTask hot path (a frozen dataclass costs four times as much)."""

    task_id: str
    api_key: str
    model: str
    param: str  # the createTask body as sent, as a JSON string
    resolution: str
    duration: str
    callback_url: str | None
    created_ms: int
    origin: str  # base URL the task was created through: its result URLs point there
    credits: float
    outcome: Outcome


class TaskStore(Protocol):
    def add(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def tasks(self, api_key: str | None = None) -> Iterator[Task]: ...

    def count(self) -> int: ...

    def last_id_number(self) -> int: ...

    def balance(self, api_key: str) -> float | None: ...

    def set_balance(self, api_key: str, balance: float) -> None: ...


class MemoryTaskStore:
    """Dicts behind a lock: O(1) lookups whatever the number of tasks."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._balances: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, task: Task) -> None:
        with self._lock:
            if task.task_id in self._tasks:
                raise KeyError(f"task {task.task_id} exists already")
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
