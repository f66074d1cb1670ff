"""Bounded per-key journals: the requests the mock answered and the callbacks it sent."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

JournalEntry = dict[str, Any]


class Journal:
    """A ring buffer per API key: old entries fall off, keys never see each other's."""

    def __init__(self, per_key: int) -> None:
        self._per_key = per_key
        self._entries: dict[str, deque[JournalEntry]] = {}
        self._lock = threading.Lock()

    def add(self, api_key: str, entry: JournalEntry) -> None:
        entries = self._entries.get(api_key)
        if entries is None:
            with self._lock:
                entries = self._entries.setdefault(api_key, deque(maxlen=self._per_key))
        entries.append(entry)  # deque.append is atomic: no lock on the request path

    def entries(self, api_key: str | None = None) -> list[JournalEntry]:
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
