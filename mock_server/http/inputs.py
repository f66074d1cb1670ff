"""What the control API reads from a request: numbers within bounds and JSON objects, or a
422 in the API's envelope that names the field."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mock_server.bounded import ascii_int, finite
from mock_server.errors import CONTROL_NOT_JSON, ApiError
from mock_server.http.readers import parse_json_object


def number(body: dict[str, Any], name: str, *, low: float = 0, high: float) -> float:
    """A JSON number (not a string, not a boolean), finite and within [low, high]."""
    value = body.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ApiError(422, f"{name}: must be a number from {low:g} to {high:g}")
    return finite(value, name, low=low, high=high)


def bounded_int(text: str, name: str, high: int = 10_000) -> int:
    return ascii_int(text, name, low=1, high=high)


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (empty: {}). A request that says what it sends must send JSON:
    a web page can post forms and text/plain across sites, never application/json."""
    content_type = request.headers.get("content-type")
    if content_type is not None and content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, CONTROL_NOT_JSON.format(got=content_type[:100]))
    return parse_json_object(await request.body())
