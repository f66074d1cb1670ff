"""The mock's one error family, its messages, and the HTTP-status policy.

Every error is rendered as the API's envelope `{"code", "msg", "data": null}`; whether
the HTTP status is 200 (as upstream) or equal to `code` is decided here, in one place.
"""

from __future__ import annotations

from collections.abc import Mapping

NO_ACCESS = "You do not have access permissions"
RECORD_NOT_FOUND = "recordInfo is null"
INTERNAL_ERROR = "Internal server error"
NOT_FOUND = "Not found: {path}"
METHOD_NOT_ALLOWED = "Method {method} is not allowed on {path}; allowed: {allowed}"
INSUFFICIENT_CREDITS = "Insufficient credits: this task costs {cost:g} credits, the balance is {balance:g}"
BODY_TOO_LARGE = "body: larger than the {limit} bytes allowed"
BODY_NOT_JSON = "body: not valid JSON ({reason})"
BODY_NOT_UTF8 = "body: not valid UTF-8 ({reason})"
BODY_MISSING = "body: a JSON request body is required"
WRONG_CONTENT_TYPE = "Content-Type: must be {expected} (got {got})"
MAINTENANCE = "The system is currently undergoing maintenance"
FEATURE_DISABLED = "Feature disabled: {name} {value} is currently disabled"
CREATE_RATE_LIMITED = "Rate limited: at most {count} createTask requests per {seconds} seconds"
QUERY_RATE_LIMITED = "Rate limited: at most {count} recordInfo queries per {seconds} seconds"
SCENARIO_NOT_FOR_OPERATION = "X-Mock-Scenario: {name!r} is a task outcome; it applies to createTask only"
SCENARIO_NOT_DOCUMENTED = "X-Mock-Scenario: {name!r} answers code {code}, which {operation} does not document"
TASK_ENDED = "task {task_id} has ended; terminal states never change"
RESULT_NOT_READY = "Result media is not served by this version of apikley-mock: {path}"


class ApiError(Exception):
    """An answer in the API's envelope with `code` != 200."""

    def __init__(self, code: int, msg: str, *, http_status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        # Set only where upstream answers a real HTTP error whatever the policy (429 on createTask).
        self.http_status = http_status
        self.headers = dict(headers or {})


def http_status(error: ApiError, policy: str) -> int:
    if policy == "mirror":
        return error.code
    return error.http_status or 200
