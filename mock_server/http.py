"""HTTP plumbing shared by every route: the envelope, reading a bounded body, parsing JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mock_server.errors import (
    BODY_MISSING,
    BODY_NOT_JSON,
    BODY_NOT_UTF8,
    BODY_TOO_LARGE,
    WRONG_CONTENT_TYPE,
    ApiError,
)


def envelope(code: int, msg: str, data: Any = None, *, status: int = 200,
             headers: Mapping[str, str] | None = None) -> Response:
    body = orjson.dumps({"code": code, "msg": msg, "data": data})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing anything over `limit` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
        chunks.append(chunk)
    return b"".join(chunks)


def require_media_type(request: Request, expected: str) -> None:
    got = request.headers.get("content-type", "")
    if got.split(";", 1)[0].strip().lower() != expected:
        raise ApiError(422, WRONG_CONTENT_TYPE.format(expected=expected, got=got or "none"))


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(422, BODY_MISSING)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, BODY_NOT_UTF8.format(reason=exc.reason)) from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, BODY_NOT_JSON.format(reason=exc.msg)) from exc
