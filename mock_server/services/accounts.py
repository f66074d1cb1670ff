"""Accounts: what a task costs, and each key's credits (charged on creation, refunded when a
generation fails). A key nobody has charged yet holds the initial balance."""

from __future__ import annotations

from collections.abc import Mapping

from mock_server.errors import INSUFFICIENT_CREDITS, ApiError
from mock_server.store.base import TaskStore


class Accounts:
    def __init__(self, store: TaskStore, *, initial_balance: float, prices: Mapping[str, float]) -> None:
        self._store = store
        self._initial = initial_balance
        self._prices = prices

    def price(self, resolution: str, duration: str) -> float:
        return self._prices[f"{resolution}/{duration}"]

    def balance(self, api_key: str) -> float:
        stored = self._store.balance(api_key)
        return self._initial if stored is None else stored

    def charge(self, api_key: str, cost: float) -> None:
        """Take `cost` credits, or refuse with 402 when the balance does not cover it."""
        balance = self.balance(api_key)
        if cost > balance:
            raise ApiError(402, INSUFFICIENT_CREDITS.format(cost=cost, balance=balance))
        self._store.set_balance(api_key, balance - cost)

    def refund(self, api_key: str, credits: float) -> None:
        self._store.set_balance(api_key, self.balance(api_key) + credits)

    def set_balance(self, api_key: str, balance: float) -> None:
        self._store.set_balance(api_key, balance)
