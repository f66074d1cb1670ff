"""Accounts: what a task costs, and each key's credits (charged as the task is stored, in one
step; refunded by settlement when a generation fails). A key nobody has charged yet holds the initial balance."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from contracts.family.outputs import OutputSpec
from mock_server.errors import INSUFFICIENT_CREDITS, ApiError
from mock_server.sim.task import Task
from mock_server.store.base import NotEnoughCredits, TaskStore

DEFAULT_CREDITS = {"video": 20.0, "image": 4.0, "audio": 10.0, "text": 2.0}  # models without a price of their own


class Accounts:
    def __init__(self, store: TaskStore, *, initial_balance: float, prices: Mapping[str, float]) -> None:
        self._store = store
        self._initial = initial_balance
        self._prices = prices

    def price(self, output: OutputSpec, *, page_credits: float | Mapping[str, float] | None = None) -> float:
        """Credits for a task making `output`: the model page's `x-apikley-credits` (a number,
        or a table by "resolution/duration"), else the settings' price table, else a default
        for its kind."""
        key = f"{output.resolution}/{output.duration}"
        if isinstance(page_credits, int | float):
            return float(page_credits)
        if isinstance(page_credits, Mapping) and key in page_credits:
            return float(page_credits[key])
        return self._prices.get(key, DEFAULT_CREDITS[output.kind])

    def balance(self, api_key: str) -> float:
        stored = self._store.balance(api_key)
        return self._initial if stored is None else stored

    @property
    def initial_balance(self) -> float:
        return self._initial

    def check(self, api_key: str, cost: float) -> None:
        """402 up front when the balance cannot cover `cost` (before a queued outcome is taken)."""
        balance = self.balance(api_key)
        if cost > balance:
            raise ApiError(402, INSUFFICIENT_CREDITS.format(cost=cost, balance=balance))

    def open_task(self, task: Task, *, end_ms: int | None, name: Callable[[int], str]) -> Task:
        """Charge the task's credits and store it under the id `name` gives its number, at once
        (402 when the balance does not cover it: then nothing is charged nor stored)."""
        try:
            return self._store.create(task, end_ms=end_ms, initial_balance=self._initial, name=name)
        except NotEnoughCredits as exc:
            raise ApiError(402, INSUFFICIENT_CREDITS.format(cost=task.credits, balance=exc.balance)) from None

    def set_balance(self, api_key: str, balance: float) -> None:
        self._store.set_balance(api_key, balance)
