"""The Redis store's bounded journals: one list per key, appended in one round trip."""

from __future__ import annotations

import json
from typing import Any


class RedisJournal:
    """The newest entries per key, as Redis lists."""

    def __init__(self, client: Any, prefix: str, name: str, per_key: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}journal:{name}:"
        self._per_key = per_key

    def add(self, api_key: str, entry: Any) -> None:
        self.add_many([(api_key, entry)])

    def add_many(self, entries: list[tuple[str, Any]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for api_key, entry in entries:
            pipe.rpush(self._prefix + api_key, json.dumps(entry))
        for api_key in {api_key for api_key, _ in entries}:
            pipe.ltrim(self._prefix + api_key, -self._per_key, -1)
        pipe.execute()

    def entries(self, api_key: str | None = None) -> list[Any]:
        names = [self._prefix + api_key] if api_key is not None else sorted(
            self._redis.scan_iter(match=self._prefix + "*", count=1000))
        return [json.loads(entry) for name in names for entry in self._redis.lrange(name, 0, -1)]

    def clear(self, api_key: str | None = None) -> None:
        names = [self._prefix + api_key] if api_key is not None else list(
            self._redis.scan_iter(match=self._prefix + "*", count=1000))
        if names:
            self._redis.delete(*names)

