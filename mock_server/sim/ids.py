"""Task ids: `task_bytedance_<13-digit ms>`, as the real service issues for this model.

One generator per store, so ids are unique even when many tasks share a millisecond
(the number then runs a little ahead of the clock) and after a restart on a persistent
store (it starts above the highest id stored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

PREFIX = "task_bytedance_"


class TaskIdGenerator:
    def __init__(self, now_ms: Callable[[], int], *, last_issued: int = 0) -> None:
        self._now_ms = now_ms
        self._last = last_issued
        self._lock = threading.Lock()

    def next_id(self, now_ms: int | None = None) -> str:
        with self._lock:
            self._last = max(self._now_ms() if now_ms is None else now_ms, self._last + 1)
            return f"{PREFIX}{self._last}"


def id_number(task_id: str) -> int | None:
    """The numeric part of an id this generator could have issued, else None."""
    digits = task_id.removeprefix(PREFIX)
    return int(digits) if digits != task_id and digits.isdigit() else None
