"""Token buckets per (API key, operation), on the virtual clock.

Upstream: 20 createTask per 10 s and 10 Get Task Details per second per key. Measured on
the virtual clock, like everything else, so tests move past a limit with `advance()`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`"20/10"` is 20 per 10 seconds; `"off"` is no limit."""
        if text.strip().lower() == "off":
            return None
        count, _, seconds = text.partition("/")
        rate = cls(int(count), float(seconds or "1"))
        if rate.count <= 0 or rate.seconds <= 0:
            raise ValueError(f"rate {text!r}: count and seconds must be positive")
        return rate


class RateLimiter:
    def __init__(self, rate: Rate | None, now_ms: Callable[[], int]) -> None:
        self.rate = rate
        self._now_ms = now_ms
        self._buckets: dict[str, tuple[float, int]] = {}  # key -> (tokens, at_ms)
        self._lock = threading.Lock()

    def take(self, key: str) -> float | None:
        """None when allowed; else the seconds until a token is free (for Retry-After)."""
        rate = self.rate
        if rate is None:
            return None
        now = self._now_ms()
        per_ms = rate.count / (rate.seconds * 1000)
        with self._lock:
            tokens, at = self._buckets.get(key, (float(rate.count), now))
            tokens = min(float(rate.count), tokens + max(0, now - at) * per_ms)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / per_ms / 1000

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._buckets.clear()
            else:
                self._buckets.pop(key, None)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
