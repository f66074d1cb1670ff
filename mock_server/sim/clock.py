"""The virtual clock: the mock's only source of time.

Virtual time runs at `speed` virtual seconds per wall second (0 freezes it) and jumps
forward with `advance()`, so tests move task lifecycles without sleeping. Its whole state is
three numbers (`ClockState`): workers and replicas share them through the store and adopt
them before each call, so every process tells the same time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple


class ClockState(NamedTuple):
    base_ms: float  # virtual time at wall time `base_wall`
    base_wall: float  # seconds, on the clock's wall (monotonic alone, Unix time when shared)
    speed: float

    def at(self, wall: float) -> float:
        return self.base_ms + (wall - self.base_wall) * self.speed * 1000

    def now_ms(self, wall: float) -> int:
        return int(self.at(wall))


class VirtualClock:
    def __init__(self, *, start_ms: int | None = None, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._monotonic = monotonic
        self._state = ClockState(float(start_ms if start_ms is not None else time.time() * 1000),
                                 monotonic(), speed)

    def now_ms(self) -> int:
        """Virtual Unix time in milliseconds."""
        return self._state.now_ms(self._monotonic())

    @property
    def speed(self) -> float:
        return self._state.speed

    def state(self) -> ClockState:
        return self._state

    def adopt(self, state: ClockState) -> None:
        """Tell time as `state` says (read from the store another process wrote)."""
        self._state = state

    def latest(self, stored: ClockState) -> ClockState:
        """`stored` or this clock's own state, whichever is later now (never back in time)."""
        wall = self._monotonic()
        return stored if stored.at(wall) >= self._state.at(wall) else self._state

    def with_speed(self, state: ClockState, speed: float) -> ClockState:
        """`state` running at `speed` from now on."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        wall = self._monotonic()
        return ClockState(state.at(wall), wall, speed)

    def advanced(self, state: ClockState, seconds: float) -> ClockState:
        """`state` jumped forward (never back: terminal states must stay terminal)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        wall = self._monotonic()
        return ClockState(state.at(wall) + seconds * 1000, wall, state.speed)

    def set_speed(self, speed: float) -> None:
        self._state = self.with_speed(self._state, speed)

    def advance(self, seconds: float) -> int:
        """Jump forward; returns now."""
        self._state = self.advanced(self._state, seconds)
        return self.now_ms()
