"""The control API's journals: the requests the mock answered and every callback attempt, the
deliveries still to come, and waiting for those in flight (`/__mock__/requests`, `callbacks`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mock_server.services import Services


class Journals:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.tick = services.scheduler.tick

    async def requests(self, request: Request) -> Any:
        return self.services.requests.entries(request.query_params.get("apiKey"))

    async def callbacks(self, request: Request) -> Any:
        return self.services.dispatcher.journal(request.query_params.get("apiKey"),
                                                request.query_params.get("taskId"))

    async def pending(self, request: Request) -> Any:
        """Deliveries not done yet, from every process: due later, waiting, or being sent."""
        return self.services.dispatcher.pending(request.query_params.get("taskId"))

    async def flush(self, request: Request) -> Any:
        """Wait for in-flight deliveries (of `taskId`, or all), then report them."""
        task_id = request.query_params.get("taskId")
        self.tick()
        dispatcher = self.services.dispatcher
        await dispatcher.flush(task_id)
        return {"deliveries": dispatcher.journal(None, task_id), "pending": dispatcher.pending(task_id)}
