"""What may enter from outside, parsed and bounded where it enters: integers written in ASCII
digits of a bounded length, finite numbers within a range, JSON nested no deeper than a real
request is. Out of range is an `ApiError` (422, or the surface's variant) naming the field and
the bound, so nothing a caller sends reaches the store as a value it cannot hold."""

from __future__ import annotations

import math
from typing import Any

from mock_server.errors import ApiError

MAX_DIGITS = 18  # below 2**63: every integer a store keeps
MAX_JSON_DEPTH = 64  # createTask bodies are 3-4 deep; validators recurse per level
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the clock never goes past it


def ascii_int(text: str | None, name: str, *, low: int = 0, high: int = 10**MAX_DIGITS - 1) -> int:
    """`text` as an integer in [low, high], written in ASCII digits only (`²` and `٣` are not)."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > MAX_DIGITS:
        raise ApiError(422, f"{name}: must be an integer from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise ApiError(422, f"{name}: must be an integer from {low} to {high}")
    return value


def finite(value: Any, name: str, *, low: float, high: float) -> float:
    """A JSON number (or its text) that is finite and within [low, high]."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise ApiError(422, f"{name}: must be a number from {low:g} to {high:g}")
    return number


def depth(value: Any) -> int:
    """How deeply `value` nests (a scalar is 0), found without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, level = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                pending.extend((child, level + 1) for child in children)
    return deepest
