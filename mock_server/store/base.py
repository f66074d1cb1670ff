"""What a store keeps and promises: the `TaskStore` protocol every implementation follows.

Stores hold facts as they were acknowledged (a task's request, creation time and planned
outcome, whether its end has been settled), balances and callback deliveries; states are
derived from them and the clock, never stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from mock_server.sim.task import Task

JournalEntry = dict[str, Any]
DELIVERIES_PER_KEY = 1000


class DeliveryLog(Protocol):
    def add(self, api_key: str, entry: JournalEntry) -> None: ...

    def entries(self, api_key: str | None = None) -> list[JournalEntry]: ...

    def clear(self, api_key: str | None = None) -> None: ...


class TaskStore(Protocol):
    deliveries: DeliveryLog

    def add(self, task: Task) -> None: ...

    def update(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def tasks(self, api_key: str | None = None) -> Iterator[Task]: ...

    def count(self) -> int: ...

    def last_id_number(self) -> int: ...

    def balance(self, api_key: str) -> float | None: ...

    def set_balance(self, api_key: str, balance: float) -> None: ...

    def mark_settled(self, task_id: str) -> None: ...

    def is_settled(self, task_id: str) -> bool: ...

    def unsettled(self) -> Iterator[Task]: ...

    def mark_callback_done(self, task_id: str) -> None:
        """The task's callback reached a final result (delivered, failed, refused, dropped)."""

    def callbacks_outstanding(self) -> Iterator[Task]:
        """Settled tasks with a callBackUrl whose callback never reached a final result (the
        process stopped first): after a restart they are handed to the dispatcher again."""
        ...

    def clear(self, api_key: str | None = None) -> None: ...

    def load_clock(self) -> int | None: ...

    def save_clock(self, now_ms: int) -> None: ...

    def close(self) -> None: ...
