"""The scheduler: one failing tick (a store that hiccups) is logged, and the ticks go on.

Regression: the ticker's loop ended silently on its first exception, so a Redis restart
stopped every settlement and callback for the rest of the run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mock_server.services.scheduler import Scheduler


class FlakySettlement:
    """Fails its first `failures` settlements, then signals each later one."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.settled = asyncio.Event()

    def settle(self) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the store went away")
        self.settled.set()


class Quiet:
    """The scheduler's other collaborators, doing nothing."""

    requests = property(lambda self: self)

    def refresh(self) -> None: ...

    def pump(self) -> None: ...

    def flush(self) -> None: ...

    def save_clock(self, now_ms: int) -> None: ...

    def now_ms(self) -> int:
        return 0

    async def aclose(self) -> None: ...


def test_a_failing_tick_is_logged_and_the_next_ticks_run(caplog: pytest.LogCaptureFixture) -> None:
    settlement, quiet = FlakySettlement(failures=3), Quiet()
    scheduler = Scheduler(shared=quiet, settlement=settlement, dispatcher=quiet,  # type: ignore[arg-type]
                          store=quiet, clock=quiet, every_seconds=0.001)  # type: ignore[arg-type]

    async def run() -> None:
        async with scheduler.running():
            await asyncio.wait_for(settlement.settled.wait(), timeout=10)

    with caplog.at_level(logging.ERROR, logger="apikley_mock.scheduler"):
        asyncio.run(run())
    assert settlement.failures == 0
    assert caplog.text.count("scheduler tick failed") == 3 and "the store went away" in caplog.text
