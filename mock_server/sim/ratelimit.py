"""Token buckets per (API key, operation), on the virtual clock.

Upstream: 20 createTask per 10 s and 10 Get Task Details per second per key. Measured on
the virtual clock, like everything else, so tests move past a limit with `advance()`.
"""

from __future__ import annotations

import math
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


def take(tokens: float | None, at_ms: int, rate: Rate, now_ms: int) -> tuple[float, float | None]:
    """One call against a token bucket holding `tokens` at `at_ms` (None: a new, full one):
    the tokens left at `now_ms`, and None when allowed, else the seconds until a token is
    free (for Retry-After). Every store applies this rule (Redis in its own Lua copy)."""
    per_ms = rate.count / (rate.seconds * 1000)
    full = float(rate.count)
    tokens = full if tokens is None else min(full, tokens + max(0, now_ms - at_ms) * per_ms)
    if tokens >= 1:
        return tokens - 1, None
    return tokens, (1 - tokens) / per_ms / 1000


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
