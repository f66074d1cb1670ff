"""Task ids as the real service issues them: `task_bytedance_<13-digit ms>` for ByteDance
models, 32 lowercase hex for other vendors' (derived from the same increasing number).

One generator per store, so ids are unique even when many tasks share a millisecond
(the number then runs a little ahead of the clock) and after a restart on a persistent
store (it starts above the highest id stored).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

PREFIX = "task_bytedance_"
TIMESTAMPED_VENDOR = "bytedance"


class TaskIdGenerator:
    def __init__(self, now_ms: Callable[[], int], *, last_issued: int = 0) -> None:
        self._now_ms = now_ms
        self._last = last_issued
        self._lock = threading.Lock()

    def next_id(self, now_ms: int | None = None, vendor: str = TIMESTAMPED_VENDOR) -> str:
        with self._lock:
            self._last = max(self._now_ms() if now_ms is None else now_ms, self._last + 1)
            number = self._last
        if vendor == TIMESTAMPED_VENDOR:
            return f"{PREFIX}{number}"
        return hashlib.blake2b(f"{vendor}:{number}".encode(), digest_size=16).hexdigest()


def id_number(task_id: str) -> int | None:
    """The numeric part of an id this generator could have issued, else None."""
    digits = task_id.removeprefix(PREFIX)
    return int(digits) if digits != task_id and digits.isdigit() else None
