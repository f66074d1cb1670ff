"""A task as it was acknowledged: the facts its whole life is derived from."""

from __future__ import annotations

from typing import NamedTuple

from contracts.family.outputs import OutputSpec
from mock_server.sim.lifecycle import Outcome


class Task(NamedTuple):
    """Immutable, hashable, and cheap to build on the createTask hot path (a frozen
    dataclass costs four times as much). States are derived from it and the clock."""

    task_id: str
    api_key: str
    model: str
    param: str  # the createTask body as sent, as a JSON string
    callback_url: str | None
    created_ms: int
    origin: str  # base URL the task was created through: its result URLs point there
    credits: float
    outcome: Outcome
    output: OutputSpec  # what it makes (kind, size, length, format), decided at createTask

    @property
    def needs_settling(self) -> bool:
        """Whether its end has work to do: a callback to hand off, or credits to refund. Other
        tasks end by the clock alone."""
        return bool(self.callback_url) or self.outcome.may_fail

    @property
    def api(self) -> str | None:
        """The other API it belongs to (`veo` for `veo:veo3_fast`); None for a market task."""
        return self.model.partition(":")[0] if ":" in self.model else None
