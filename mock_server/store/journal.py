"""Bounded per-key journals: the requests the mock answered and the callbacks it sent."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

from mock_server.store.base import JournalEntry

Entry = TypeVar("Entry")
RequestRow = tuple[int, str, str, str, int, int, float]


class Journal(Generic[Entry]):
    """A ring buffer per API key: old entries fall off, keys never see each other's."""

    def __init__(self, per_key: int) -> None:
        self._per_key = per_key
        self._entries: dict[str, deque[Entry]] = {}
        self._lock = threading.Lock()

    def add(self, api_key: str, entry: Entry) -> None:
        entries = self._entries.get(api_key)
        if entries is None:
            with self._lock:
                entries = self._entries.setdefault(api_key, deque(maxlen=self._per_key))
        entries.append(entry)  # deque.append is atomic: no lock on the request path

    def entries(self, api_key: str | None = None) -> list[Entry]:
        with self._lock:
            if api_key is not None:
                return list(self._entries.get(api_key, ()))
            return [entry for entries in self._entries.values() for entry in entries]

    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            if api_key is None:
                self._entries.clear()
            else:
                self._entries.pop(api_key, None)


REQUEST_FIELDS = ("at", "method", "path", "operationId", "status", "code", "latencyMs")


class RequestJournal:
    """The requests the mock answered, per key. Kept as tuples (a dict per request costs more
    than the rest of journaling); read back as dicts named by REQUEST_FIELDS."""

    def __init__(self, per_key: int) -> None:
        self._rows: Journal[RequestRow] = Journal(per_key)

    def record(self, api_key: str, row: RequestRow) -> None:
        self._rows.add(api_key, row)

    def entries(self, api_key: str | None = None) -> list[JournalEntry]:
        return [dict(zip(REQUEST_FIELDS, row, strict=True)) for row in self._rows.entries(api_key)]

    def clear(self, api_key: str | None = None) -> None:
        self._rows.clear(api_key)
