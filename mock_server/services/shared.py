"""What every worker and replica must see alike at every instant: the virtual clock (its speed
and offset), the control API's switches, and whether any scenario is queued.

They live among the store's control entries, are read back before every call (one read;
parsed only when they changed) and changed atomically, so two workers advancing the clock
at once add both jumps. A process starting the mock sets them from its settings; a worker
or replica joining others adopts what the store holds.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from mock_server.sim.clock import ClockState, VirtualClock
from mock_server.store.base import TaskStore

CLOCK, TOGGLES, QUEUED, SECRET = "clock", "toggles", "queued", "secret"
# What a reset returns to: the clock and switches as the mock started (its settings).
START = {CLOCK: "clock-at-start", TOGGLES: "toggles-at-start"}


@dataclass(frozen=True)
class Toggles:
    """Switches the control API may flip at run time."""

    maintenance: bool = False
    disabled_features: frozenset[str] = field(default_factory=frozenset)
    rate_limits: bool = True  # off: the configured limits are not applied (e.g. while fuzzing)

    def encode(self) -> str:
        return orjson.dumps({**asdict(self), "disabled_features": sorted(self.disabled_features)}).decode()

    @classmethod
    def decode(cls, text: str) -> Toggles:
        values = orjson.loads(text)
        return cls(values["maintenance"], frozenset(values["disabled_features"]), values["rate_limits"])


class SharedState:
    def __init__(self, store: TaskStore, clock: VirtualClock) -> None:
        self._store = store
        self.clock = clock
        self.toggles = Toggles()
        self.queued = 0
        self.secret = ""
        self._seen: dict[str, str] = {}

    def start(self, toggles: Toggles, *, join: bool) -> None:
        """Set the clock and switches (join=False), or adopt the store's if it has them; the
        secret is made once and kept by the store (workers, replicas and restarts share it)."""
        for name, value in ((CLOCK, _encode(self.clock.state())), (TOGGLES, toggles.encode())):
            for entry in (name, START[name]):
                self._store.change_control(entry, functools.partial(_set_unless_joining, value, join))
        self.secret = self._store.change_control(SECRET, lambda old: old or secrets.token_hex(32))
        self.refresh()

    def refresh(self) -> None:
        """Adopt what another process may have changed."""
        seen = self._store.control()
        if seen == self._seen:
            return
        last, self._seen = self._seen, seen
        # Each entry only when it changed: a clock moved in-process (tests' own VirtualClock)
        # is not set back by an unrelated change.
        if (clock := seen.get(CLOCK)) is not None and clock != last.get(CLOCK):
            self.clock.adopt(ClockState(*orjson.loads(clock)))
        if (toggles := seen.get(TOGGLES)) is not None and toggles != last.get(TOGGLES):
            self.toggles = Toggles.decode(toggles)
        self.queued = int(seen.get(QUEUED, "0"))

    def restore(self) -> None:
        """The clock (speed and offset) and the switches back to how the mock started, as if
        no control call had moved or flipped them (a reset)."""
        started = self._store.control()
        for name in (CLOCK, TOGGLES):
            if started.get(START[name]):
                self._store.change_control(name, functools.partial(_set_unless_joining, started[START[name]], False))
        self._seen = {}  # adopt both anew, whatever this process had moved in-process
        self.refresh()

    def advance(self, seconds: float) -> None:
        self._change_clock(lambda state: self.clock.advanced(state, seconds))

    def set_speed(self, speed: float) -> None:
        self._change_clock(lambda state: self.clock.with_speed(state, speed))

    def set_toggles(self, **changes: Any) -> Toggles:
        self._store.change_control(TOGGLES, lambda old: replace(
            Toggles.decode(old) if old else self.toggles, **changes).encode())
        self.refresh()
        return self.toggles

    def _change_clock(self, change: Callable[[ClockState], ClockState]) -> None:
        self.refresh()  # then the store's state, or (tests) this process's clock moved by hand
        def changed(old: str | None) -> str:
            return _encode(change(self.clock.latest(ClockState(*orjson.loads(old))) if old else self.clock.state()))

        self._store.change_control(CLOCK, changed)
        self.refresh()


def _set_unless_joining(value: str, join: bool, old: str | None) -> str:
    """A control entry's new value: `value`, unless joining others that have set it."""
    return old if join and old else value


def _encode(state: ClockState) -> str:
    return orjson.dumps(list(state)).decode()
