"""Unguessable names, as upstream's are: the secret part of a result's path, the folder of an
API key's uploads, and the signature of a temporary download link. Each is an HMAC of a secret
the mock keeps among its store's control entries (made at the first start, shared by workers
and replicas, kept across restarts with a persistent store), so nobody who guesses a task id
or an upload's name can fetch or overwrite another key's files. Pure: no I/O."""

from __future__ import annotations

import functools
import hashlib
import hmac


class Tokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _mac(self, purpose: str, value: str, length: int) -> str:
        return hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:length]

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 -- one Tokens per mock; ids are short
    def result(self, task_id: str) -> str:
        """The path part that makes a task's result URL unguessable."""
        return self._mac("result", task_id, 24)

    def uploads(self, api_key: str) -> str:
        """The folder an API key's uploads live in (and their downloadUrl names)."""
        return self._mac("uploads", api_key, 24)

    def link(self, task_id: str, expires_ms: int) -> str:
        """A download-url link's signature."""
        return self._mac("link", f"{task_id}:{expires_ms}", 32)
