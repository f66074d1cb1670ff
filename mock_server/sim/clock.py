"""The virtual clock: the mock's only source of time.

Virtual time runs at `speed` virtual seconds per wall second (0 freezes it) and jumps
forward with `advance()`, so tests move task lifecycles without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class VirtualClock:
    def __init__(self, *, start_ms: int | None = None, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._monotonic = monotonic
        self._base_ms = float(start_ms if start_ms is not None else time.time() * 1000)
        self._base_wall = monotonic()
        self._speed = speed

    def now_ms(self) -> int:
        """Virtual Unix time in milliseconds."""
        return int(self._base_ms + (self._monotonic() - self._base_wall) * self._speed * 1000)

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._rebase()
        self._speed = speed

    def advance(self, seconds: float) -> int:
        """Jump forward (never back: terminal states must stay terminal); returns now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._rebase()
        self._base_ms += seconds * 1000
        return self.now_ms()

    def _rebase(self) -> None:
        wall = self._monotonic()
        self._base_ms += (wall - self._base_wall) * self._speed * 1000
        self._base_wall = wall
