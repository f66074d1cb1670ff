"""Body readers, chosen by the media type an operation declares: JSON, or multipart form data
(for the stream upload). Each reads a bounded body and returns what the operation's validator
checks, plus the file's bytes for an upload. Bad bodies are `ApiError`s, never exceptions
from a parser.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope

from mock_server.bounded import MAX_JSON_DEPTH, depth
from mock_server.errors import (
    BODY_MISSING,
    BODY_NOT_JSON,
    BODY_NOT_OBJECT,
    BODY_NOT_UTF8,
    BODY_TOO_DEEP,
    BODY_TOO_LARGE,
    BODY_TOO_SLOW,
    FILE_OVER_LIMIT,
    FORM_FIELD_REPEATED,
    MULTIPART_INVALID,
    WRONG_CONTENT_TYPE,
    ApiError,
)

MULTIPART = "multipart/form-data"
JSON = "application/json"
MAX_FORM_FIELDS = 100  # the spec allows extra fields; a bound keeps parsing cheap
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the other fields around a file part
BINARY = "<binary>"  # what the validator sees of a file part


Headers = Mapping[bytes, bytes]  # the request's headers this pipeline reads, raw as ASGI gives them


class BodyReader(Protocol):
    media_type: str

    async def read(self, scope: Scope, receive: Receive, headers: Headers) -> tuple[Any, bytes | None]: ...


async def read_body(receive: Receive, declared_length: bytes, limit: int, timeout_seconds: float) -> bytes:
    """The whole body, refusing anything over `limit` bytes without reading it all, or not
    received in full within `timeout_seconds` (a client dripping its body holds nothing for ever)."""
    if declared_length.isdigit() and int(declared_length) > limit:
        raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
    chunks: list[bytes] = []
    first = _chunk(await receive(), chunks, limit)  # usually the whole body: no deadline to arm
    if not first:
        return b"".join(chunks)
    try:
        async with asyncio.timeout(timeout_seconds):
            while _chunk(await receive(), chunks, limit):
                pass
    except TimeoutError as exc:
        raise ApiError(408, BODY_TOO_SLOW.format(seconds=timeout_seconds)) from exc
    return b"".join(chunks)


def _chunk(message: Message, chunks: list[bytes], limit: int) -> bool:
    """Keep one message's bytes; whether more follow."""
    if message["type"] == "http.disconnect":
        raise ApiError(422, BODY_MISSING)
    chunks.append(message.get("body", b""))
    if sum(map(len, chunks)) > limit:
        raise ApiError(422, BODY_TOO_LARGE.format(limit=limit))
    return bool(message.get("more_body", False))


def boundary_of(content_type: bytes) -> bytes | None:
    for parameter in content_type.split(b";")[1:]:
        name, _, value = parameter.strip().partition(b"=")
        if name.strip().lower() == b"boundary" and value.strip(b' "'):
            return value.strip(b' "')
    return None


def require_media_type(headers: Headers, expected: str) -> None:
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if content_type.split(";", 1)[0].strip().lower() != expected:
        raise ApiError(422, WRONG_CONTENT_TYPE.format(expected=expected, got=content_type or "none"))


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(422, BODY_MISSING)
    try:
        parsed = orjson.loads(raw)  # rejects invalid UTF-8, NaN and trailing garbage too
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad_text:
            raise ApiError(422, BODY_NOT_UTF8.format(reason=bad_text.reason)) from exc
        raise ApiError(422, BODY_NOT_JSON.format(reason=exc.msg)) from exc
    # Deep nesting needs as many brackets: counting them (in C) spares the usual body the walk.
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and (levels := depth(parsed)) > MAX_JSON_DEPTH:
        raise ApiError(422, BODY_TOO_DEEP.format(depth=levels, limit=MAX_JSON_DEPTH))
    return parsed


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """An optional JSON object body (the control API's): empty means {}."""
    if not raw.strip():
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(422, BODY_NOT_OBJECT)
    return body


class JsonReader:
    media_type = JSON

    def __init__(self, limit: int, timeout_seconds: float) -> None:
        self.limit = limit
        self.timeout_seconds = timeout_seconds

    async def read(self, scope: Scope, receive: Receive, headers: Headers) -> tuple[Any, None]:
        require_media_type(headers, JSON)
        raw = await read_body(receive, headers.get(b"content-length", b""), self.limit, self.timeout_seconds)
        return parse_json(raw), None


class MultipartReader:
    """Form fields (strings) for the validator, and the `file` part's bytes (at most `limit`)."""

    media_type = MULTIPART

    def __init__(self, limit: int, timeout_seconds: float, file_field: str = "file") -> None:
        self.limit = limit
        self.timeout_seconds = timeout_seconds
        self.file_field = file_field

    async def read(self, scope: Scope, receive: Receive, headers: Headers) -> tuple[dict[str, Any], bytes | None]:
        require_media_type(headers, MULTIPART)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit + MULTIPART_OVERHEAD:
            raise ApiError(422, FILE_OVER_LIMIT.format(limit=self.limit))
        raw = await read_body(receive, declared, self.limit + MULTIPART_OVERHEAD, self.timeout_seconds)
        # Starlette's parser keeps the parts of a body cut short; a whole body ends with the
        # close delimiter, so a truncated one is refused as such.
        boundary = boundary_of(headers.get(b"content-type", b""))
        if boundary is None or b"--" + boundary + b"--" not in raw:
            raise ApiError(422, MULTIPART_INVALID.format(reason="truncated or without its closing boundary"))

        async def replay() -> Message:
            return {"type": "http.request", "body": raw, "more_body": False}

        try:
            form = await Request(scope, replay).form(max_files=2, max_fields=MAX_FORM_FIELDS)
        except (HTTPException, MultiPartException) as exc:  # malformed, or too many parts
            reason = exc.detail if isinstance(exc, HTTPException) else exc.message
            raise ApiError(422, MULTIPART_INVALID.format(reason=reason)) from exc
        names = Counter(name for name, _ in form.multi_items())
        if repeated := [(name, count) for name, count in names.items() if count > 1]:
            raise ApiError(422, FORM_FIELD_REPEATED.format(name=repeated[0][0], count=repeated[0][1]))
        fields: dict[str, Any] = {key: value for key, value in form.items() if isinstance(value, str)}
        upload = form.get(self.file_field)
        if not isinstance(upload, UploadFile):
            return fields, None
        fields[self.file_field] = BINARY
        return fields, await upload.read(self.limit + 1)
