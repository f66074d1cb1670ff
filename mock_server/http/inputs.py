"""What the control API reads from a request: numbers within bounds and JSON objects, or a
422 in the API's envelope that names the field."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mock_server.errors import ApiError
from mock_server.http.readers import parse_json_object


def number(body: dict[str, Any], name: str, *, low: float = 0, high: float = float("inf")) -> float:
    value = body.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        bounds = f"between {low:g} and {high:.0f}" if high != float("inf") else f">= {low:g}"
        raise ApiError(422, f"{name}: must be a number {bounds}")
    return float(value)


def bounded_int(text: str, name: str, high: int = 10_000) -> int:
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise ApiError(422, f"{name}: must be an integer from 1 to {high}")
    return int(text)


async def json_body(request: Request) -> dict[str, Any]:
    return parse_json_object(await request.body())
