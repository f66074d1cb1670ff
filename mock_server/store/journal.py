"""Bounded per-key journals: the requests the mock answered and the callbacks it sent."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Generic, Protocol, TypeVar

from mock_server.store.base import JournalEntry, RequestRow

Entry = TypeVar("Entry")


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


class SharedJournal(Protocol):
    def add_many(self, entries: list[tuple[str, Any]]) -> None: ...

    def entries(self, api_key: str | None = None) -> list[Any]: ...

    def clear(self, api_key: str | None = None) -> None: ...


# Rows journaled by an older version lack the last four: read back without them.
REQUEST_FIELDS = ("at", "method", "path", "operationId", "status", "code", "latencyMs",
                  "key", "query", "request", "answer")


class RequestJournal:
    """The requests the mock answered, per key. Kept as tuples (a dict per request costs more
    than the rest of journaling); read back as dicts named by REQUEST_FIELDS."""

    def __init__(self, per_key: int) -> None:
        self._rows: Journal[RequestRow] = Journal(per_key)

    def record(self, api_key: str, row: RequestRow) -> None:
        self._rows.add(api_key, row)

    def entries(self, api_key: str | None = None) -> list[JournalEntry]:
        return [dict(zip(REQUEST_FIELDS, row, strict=False)) for row in self._rows.entries(api_key)]

    def clear(self, api_key: str | None = None) -> None:
        self._rows.clear(api_key)

    def flush(self) -> None:
        pass  # in memory already


class RequestsIn:
    """The request journal of a shared store (SQLite, Redis): rows are kept here and written
    once per scheduler tick (one transaction or round trip for all), not once per request;
    reads write what is pending first. Other processes see a row within a tick (20 ms)."""

    def __init__(self, rows: SharedJournal) -> None:
        self._rows = rows
        self._pending: list[tuple[str, RequestRow]] = []

    def record(self, api_key: str, row: RequestRow) -> None:
        self._pending.append((api_key, row))

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self._rows.add_many(pending)

    def entries(self, api_key: str | None = None) -> list[JournalEntry]:
        self.flush()
        return [dict(zip(REQUEST_FIELDS, row, strict=False)) for row in self._rows.entries(api_key)]

    def clear(self, api_key: str | None = None) -> None:
        self.flush()
        self._rows.clear(api_key)
