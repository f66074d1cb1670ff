"""What a store keeps and promises: the `TaskStore` protocol every implementation follows.

Stores hold facts as they were acknowledged (a task's request, creation time and planned
outcome, whether its end has been settled), balances, and everything several workers or
replicas must agree on: the id counter, rate-limit buckets, queued scenarios, task ends to
settle, callback deliveries (claimed with leases), the journals and the control entries
(the clock's speed and offset, the switches). States are derived from facts and the clock,
never stored. Every method that changes more than one fact does it atomically, so workers
sharing a store never lose a charge, a refund or a callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from mock_server.sim.task import Task

JournalEntry = dict[str, Any]
RequestRow = tuple[int, str, str, str, int, int, float, str, str, str | None, str]
DELIVERIES_PER_KEY = 1000
DeliveryClaim = tuple[str, str]  # (delivery id, the delivery as the dispatcher wrote it)
PendingDelivery = tuple[int, str, str | None]  # (due at, delivery, the process holding it or None)


class StoreError(Exception):
    """The store cannot be opened (a wrong path or URL, a server that does not answer)."""


class NotEnoughCredits(Exception):
    def __init__(self, balance: float) -> None:
        super().__init__(balance)
        self.balance = balance


class DeliveryLog(Protocol):
    def add(self, api_key: str, entry: JournalEntry) -> None: ...

    def entries(self, api_key: str | None = None) -> list[JournalEntry]: ...

    def clear(self, api_key: str | None = None) -> None: ...


class RequestLog(Protocol):
    def record(self, api_key: str, row: RequestRow) -> None: ...

    def entries(self, api_key: str | None = None) -> list[JournalEntry]: ...

    def clear(self, api_key: str | None = None) -> None: ...

    def flush(self) -> None:
        """Write what is kept back (shared stores write the journal once per tick)."""


class TaskStore(Protocol):
    # True when other processes may share it (SQLite, Redis): then time is wall time.
    shared: bool
    deliveries: DeliveryLog
    requests: RequestLog

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int | None, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        """Charge `task.credits` and store the task, watched from `end_ms` (None: its end needs
        no settling), at once; returns it.
        With `name`, its id is `name(n)` for the next id number n (`next_number` of its
        creation time). NotEnoughCredits (nothing changed) or KeyError (id taken)."""
        ...

    def update(self, task: Task, *, end_ms: int | None) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """Oldest first."""
        ...

    def count(self) -> int: ...

    def usage(self, api_key: str) -> tuple[int, int]:
        """The key's tasks kept: how many, and the bytes of their requests (`param`)."""
        ...

    def forget(self, task_ids: list[str]) -> None:
        """Drop these tasks (ended ones, to keep a key within its bounds); their record is gone."""
        ...

    def next_number(self, now_ms: int) -> int:
        """The next task id number: above every number issued, and at least `now_ms`."""
        ...

    # -- balances -----------------------------------------------------------------------------
    def balance(self, api_key: str) -> float | None: ...

    def set_balance(self, api_key: str, balance: float) -> None: ...

    # -- settlement ---------------------------------------------------------------------------
    def due_ends(self, now_ms: int, limit: int) -> list[str]:
        """Unsettled tasks whose end may have come by `now_ms`, earliest first."""
        ...

    def watch(self, task_id: str, end_ms: int) -> None: ...

    def unwatch(self, task_id: str) -> None: ...

    def settle(self, task_id: str, *, refund: float, initial_balance: float,
               deliveries: list[tuple[int, str]]) -> bool:
        """Mark the task settled, refund its owner and schedule its callbacks, at once; False
        (nothing done) when it was settled already, by this process or another."""
        ...

    def is_settled(self, task_id: str) -> bool: ...

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None: ...

    def schedule_once(self, api_key: str, task_id: str, mark: str, due_ms: int, delivery: str) -> bool:
        """Schedule the delivery unless one was scheduled for `task_id` under `mark` already
        (a stage's callback, handed off by whichever process sees the stage first); whether
        this call scheduled it. Marks go with their task (forgotten or cleared with it)."""
        ...

    def claim_deliveries(self, now_ms: int, owner: str, limit: int, wall_s: float) -> list[DeliveryClaim]:
        """Deliveries due by `now_ms`, leased to `owner`: unclaimed ones, and those of owners
        whose lease ran out before `wall_s` (a process that died)."""
        ...

    def finish_delivery(self, delivery_id: str, *, retry_at_ms: int | None = None,
                        delivery: str | None = None) -> None:
        """Done with it: forget it, or give it back due again at `retry_at_ms`."""
        ...

    def pending_deliveries(self) -> list[PendingDelivery]: ...

    def keep_alive(self, owner: str, until_s: float) -> None:
        """`owner`'s claims hold until wall time `until_s`."""
        ...

    def release_claims(self, owner: str | None = None) -> None:
        """Give `owner`'s claims (everyone's: None) back to whoever claims next."""
        ...

    # -- queued scenarios ---------------------------------------------------------------------
    def push_scenarios(self, api_key: str, operation: str, scenario: str, *, call: bool, times: int) -> None: ...

    def pop_scenario(self, api_key: str, operation: str, *, call: bool) -> str | None:
        """The first queued scenario if it is of the kind asked (`call` or task outcome)."""
        ...

    def queued(self, api_key: str) -> dict[str, list[str]]: ...

    def clear_queue(self, api_key: str | None = None) -> None: ...

    # -- rate limits --------------------------------------------------------------------------
    def take_token(self, api_key: str, operation: str, *, count: int, seconds: float, now_ms: int) -> float | None:
        """None when the call is allowed; else seconds until the bucket holds a token."""
        ...

    def clear_buckets(self, api_key: str | None = None) -> None: ...

    # -- control entries (clock, switches, how many scenarios are queued) ---------------------
    def control(self) -> dict[str, str]: ...

    def change_control(self, name: str, change: Callable[[str | None], str]) -> str:
        """Replace the entry with `change(old)`, atomically; returns the new value."""
        ...

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        """Forget tasks, balances, journals, queues, buckets and deliveries (of one key, or all)."""
        ...

    def load_clock(self) -> int | None: ...

    def save_clock(self, now_ms: int) -> None: ...

    def close(self) -> None: ...

