"""The scheduler: what happens as virtual time passes, without a request asking.

Every tick settles the ends that have fallen due, starts due callback deliveries and
persists the clock. It runs for the app's lifespan; control calls that move time or change a
task tick at once, so advancing the clock delivers callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from mock_server.delivery.callbacks import CallbackDispatcher
from mock_server.services.settlement import Settlement
from mock_server.services.shared import SharedState
from mock_server.sim.clock import VirtualClock
from mock_server.store.base import TaskStore

TICK_SECONDS = 0.02
LOG = logging.getLogger("apikley_mock.scheduler")


class Scheduler:
    def __init__(self, *, shared: SharedState, settlement: Settlement, dispatcher: CallbackDispatcher,
                 store: TaskStore, clock: VirtualClock, every_seconds: float = TICK_SECONDS) -> None:
        self._shared = shared
        self._settlement = settlement
        self._dispatcher = dispatcher
        self._store = store
        self._clock = clock
        self._every = every_seconds

    def tick(self) -> None:
        self._shared.refresh()  # another worker may have moved the clock
        self._settlement.settle()
        self._dispatcher.pump()
        self._store.requests.flush()
        self._store.save_clock(self._clock.now_ms())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Tick in the background until the block ends; then stop deliveries in flight."""

        async def loop() -> None:
            while True:
                try:
                    self.tick()
                except Exception:  # a store that hiccups (Redis restarting, SQLite locked): said, and tried again
                    LOG.exception("scheduler tick failed; the next tick runs in %g s", self._every)
                await asyncio.sleep(self._every)

        ticker = asyncio.create_task(loop())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self._dispatcher.aclose()
            self._store.requests.flush()
            self._store.save_clock(self._clock.now_ms())
