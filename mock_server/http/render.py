"""The one renderer: every answer of the mock as the API's envelope, under a status policy.

Surfaces differ only in their variant: the API's `{"code", "msg", "data"}`, or the upload
variant `{"success", "code", "msg", "data"?}` (whose validation errors are upstream's 400
"Missing required parameter: ..."). The policy decides the HTTP status of an error:
`upstream` answers HTTP 200 with the code in the body, `mirror` answers HTTP status = code;
an error that carries a real status (createTask's 429, routing's 404/405, a crash's 500)
keeps it under every policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mock_server.errors import (
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    MISSING_PARAMETER,
    NOT_FOUND,
    STATUS_POLICIES,
    UPLOADED,
    ApiError,
)

SUCCESS = "success"
REQUIRED_SUFFIX = ": is required"
RawHeaders = list[tuple[bytes, bytes]]
JSON_HEADER = (b"content-type", b"application/json")
NEWLINE = orjson.OPT_APPEND_NEWLINE  # successive answers in a terminal do not run together


class Renderer:
    """Answers of one surface: `(status, raw headers, body)` ready for ASGI."""

    def __init__(self, policy: str, *, upload: bool = False) -> None:
        if policy not in STATUS_POLICIES:
            raise ValueError(f"status policy {policy!r} is not one of {list(STATUS_POLICIES)}")
        self.policy = policy
        self.upload = upload

    def success(self, data: Any) -> tuple[int, RawHeaders, bytes]:
        if self.upload:
            body = orjson.dumps({"success": True, "code": 200, "msg": UPLOADED, "data": data}, option=NEWLINE)
        else:
            body = orjson.dumps({"code": 200, "msg": SUCCESS, "data": data}, option=NEWLINE)
        return 200, [JSON_HEADER, (b"content-length", b"%d" % len(body))], body

    def error(self, exc: ApiError) -> tuple[int, RawHeaders, bytes]:
        code, msg = exc.code, exc.msg
        if self.upload:
            if code == 422:  # upstream's upload host answers 400 for any bad parameter
                code = 400
                if msg.endswith(REQUIRED_SUFFIX):
                    msg = MISSING_PARAMETER.format(name=msg.removesuffix(REQUIRED_SUFFIX))
            body = orjson.dumps({"success": False, "code": code, "msg": msg}, option=NEWLINE)
        else:
            body = orjson.dumps({"code": code, "msg": msg, "data": None}, option=NEWLINE)
        status = code if self.policy == "mirror" else exc.http_status or 200
        headers = [JSON_HEADER, (b"content-length", b"%d" % len(body))]
        headers += [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
        return status, headers, body

    def response(self, exc: ApiError) -> Response:
        status, headers, body = self.error(exc)
        response = Response(body, status_code=status)
        response.raw_headers = headers
        return response

    def ok(self, data: Any) -> Response:
        status, headers, body = self.success(data)
        response = Response(body, status_code=status)
        response.raw_headers = headers
        return response


def routing_error(request: Request, exc: Exception) -> ApiError:
    """Starlette's 404/405 (no operation matched) as an error that keeps its real status."""
    assert isinstance(exc, HTTPException)
    headers: Mapping[str, str] = exc.headers or {}
    if exc.status_code == 405:
        msg = METHOD_NOT_ALLOWED.format(method=request.method, path=request.url.path,
                                        allowed=headers.get("Allow", ""))
    elif exc.status_code == 404:
        msg = NOT_FOUND.format(path=request.url.path)
    else:
        msg = str(exc.detail)
    return ApiError(exc.status_code, msg, http_status=exc.status_code, headers=headers)


def crash() -> ApiError:
    return ApiError(500, INTERNAL_ERROR, http_status=500)
