"""A loopback callback receiver for contract runs: records every POST it gets."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.checks.callbacks import Delivery
from contracts.run.serving import ThreadedServer


class CallbackReceiver:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        app = Starlette(routes=[Route("/callback", self._receive, methods=["POST"])])
        self._server = ThreadedServer(app)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/callback"

    async def _receive(self, request: Request) -> Response:
        delivery = Delivery(dict(request.headers), await request.body())
        with self._arrived:
            self.deliveries.append(delivery)
            self._arrived.notify_all()
        return Response(status_code=204)

    def wait_for(self, task_id: str, timeout_seconds: float, *, at_least: int = 1,
                 names: Callable[[Delivery, str], bool] | None = None) -> list[Delivery]:
        """Deliveries for `task_id` (by `data.taskId`, or as `names` tells: other APIs put it
        elsewhere), waiting (bounded) until `at_least` have arrived."""
        deadline = time.monotonic() + timeout_seconds
        with self._arrived:
            while True:
                found = [d for d in self.deliveries if (names(d, task_id) if names else d.task_id == task_id)]
                remaining = deadline - time.monotonic()
                if len(found) >= at_least or remaining <= 0:
                    return found
                self._arrived.wait(min(remaining, 1.0))

    def __enter__(self) -> CallbackReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
