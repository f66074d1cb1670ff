"""What the request journal keeps of one exchange, for a person reading it later: the key
masked, the query, the body as the mock read it and the answer, each cut at `EXCERPT_BYTES`
(a journal holds `journal_size` of them per key: its memory stays bounded)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Scope

EXCERPT_BYTES = 2048


def masked(api_key: str) -> str:
    """Enough of a key to tell keys apart, never enough to use one."""
    return f"…{api_key[-4:]}" if len(api_key) > 8 else ("…" if api_key else "")


def excerpt(raw: bytes) -> str:
    if len(raw) <= EXCERPT_BYTES:
        return raw.decode("utf-8", "replace")
    return f"{raw[:EXCERPT_BYTES].decode('utf-8', 'ignore')}… ({len(raw)} bytes in all)"


def exchange(api_key: str, scope: Scope, sent: Any, answer: bytes) -> tuple[str, str, str | None, str]:
    """(key, query, request body, answer) as journaled; the body is None when none was read."""
    request = None if sent is None else excerpt(orjson.dumps(sent, default=str))
    return masked(api_key), excerpt(scope["query_string"]), request, excerpt(answer)
