"""Bearer-key authentication: which configured key a request carries, in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from mock_server.errors import NO_ACCESS, ApiError


class KeyRing:
    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(key.encode() for key in keys)

    def authenticate(self, authorization: str | None) -> str:
        """The API key in `Authorization: Bearer <key>`, or a 401 error."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, NO_ACCESS)
        candidate = token.encode()
        # Compare against every key, without stopping at a match, so timing tells nothing.
        matches = [hmac.compare_digest(key, candidate) for key in self._keys]
        if not any(matches):
            raise ApiError(401, NO_ACCESS)
        return token
