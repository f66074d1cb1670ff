"""HTTP plumbing shared by every route: the envelope, reading a bounded body, parsing JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive

from mock_server.errors import (
    BODY_MISSING,
    BODY_NOT_JSON,
    BODY_NOT_UTF8,
    BODY_TOO_LARGE,
    WRONG_CONTENT_TYPE,
    ApiError,
)


def encode_json(value: Any) -> bytes:
    return orjson.dumps(value)


def encode_envelope(code: int, msg: str, data: Any = None) -> bytes:
    return orjson.dumps({"code": code, "msg": msg, "data": data})


def envelope(code: int, msg: str, data: Any = None, *, status: int = 200,
             headers: Mapping[str, str] | None = None) -> Response:
    return Response(encode_envelope(code, msg, data), status_code=status, headers=headers,
                    media_type="application/json")


async def read_body(receive: Receive, declared_length: str, limit: int) -> bytes:
    """The whole body, refusing anything over `limit` bytes without reading it all."""
    if declared_length.isdigit() and int(declared_length) > limit:
        raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(422, BODY_MISSING)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def require_media_type(content_type: str, expected: str) -> None:
    if content_type.split(";", 1)[0].strip().lower() != expected:
        raise ApiError(422, WRONG_CONTENT_TYPE.format(expected=expected, got=content_type or "none"))


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(422, BODY_MISSING)
    try:
        return orjson.loads(raw)  # rejects invalid UTF-8, NaN and trailing garbage too
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad_text:
            raise ApiError(422, BODY_NOT_UTF8.format(reason=bad_text.reason)) from exc
        raise ApiError(422, BODY_NOT_JSON.format(reason=exc.msg)) from exc
