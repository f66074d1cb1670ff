"""Rules for every answer of the API, as plain functions in one registry, raising
`CheckFailed`: the envelope, the status policy, conformance to the spec. They run on every
answer a contract run receives, on every exchange through the proxy and in recordings, and
(envelope, status policy) as schemathesis checks. Each names what it expected and what came back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx

from contracts.apis.conformance import family_response_problems as response_problems
from contracts.checks.verdicts import CheckFailed
from contracts.spec.names import API_PREFIX

ResponseCheck = Callable[[httpx.Response], None]
RESPONSE_CHECKS: dict[str, ResponseCheck] = {}


def response_check(function: ResponseCheck) -> ResponseCheck:
    RESPONSE_CHECKS[function.__name__] = function
    return function


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise CheckFailed("a JSON body", f"HTTP {response.status_code} {response.text[:200]!r}") from exc


@response_check
def envelope(response: httpx.Response) -> None:
    """Every API answer is an object with an integer `code` and a string `msg`."""
    body = body_of(response)
    if not isinstance(body, dict):
        raise CheckFailed("a JSON object envelope", f"{type(body).__name__}: {str(body)[:200]}")
    if not isinstance(body.get("code"), int) or isinstance(body.get("code"), bool):
        raise CheckFailed("an integer `code`", f"{body.get('code')!r} in {str(body)[:200]}")
    if not isinstance(body.get("msg"), str):
        raise CheckFailed("a string `msg`", str(body)[:200])


@response_check
def status_policy(response: httpx.Response) -> None:
    """The HTTP status agrees with `code` under one of the two policies: HTTP 200 with the
    code in the body (upstream; 429 may be real), or HTTP status equal to the code."""
    body = body_of(response)
    code = body.get("code") if isinstance(body, dict) else None
    if response.status_code not in (200, code):
        raise CheckFailed(f"HTTP 200 or HTTP {code} for code {code}", f"HTTP {response.status_code}")
    if code == 200 and response.status_code != 200:
        raise CheckFailed("HTTP 200 for code 200", f"HTTP {response.status_code}")


@response_check
def conforms_to_spec(response: httpx.Response) -> None:
    """The answer matches the spec of its API (the market's, Veo's, Suno's ...) for its operation and
    status (openapi-core)."""
    request = response.request
    problems = response_problems(request.method, str(request.url), request_headers=request.headers,
                                 request_body=request.content, status=response.status_code,
                                 response_headers=response.headers, response_body=response.content)
    if problems:
        raise CheckFailed("a response the spec allows", "; ".join(problems)[:600])


def is_api_call(response: httpx.Response) -> bool:
    return response.request.url.path.startswith(API_PREFIX)


def expect_code(response: httpx.Response, code: int, msg: str | None = None) -> dict[str, Any]:
    body = body_of(response)
    if not isinstance(body, dict) or body.get("code") != code:
        got = body.get("code") if isinstance(body, dict) else body
        raise CheckFailed(f"code {code}" + (f" {msg!r}" if msg else ""),
                          f"code {got!r}: {str(body)[:300]}")
    if msg is not None and body.get("msg") != msg:
        raise CheckFailed(f"msg {msg!r}", f"msg {body.get('msg')!r}")
    if body.get("data") is not None:
        raise CheckFailed("data null on an error", f"data {str(body.get('data'))[:200]}")
    return body


def random_task_id() -> str:
    return f"task_bytedance_{10**12 + secrets.randbelow(10**12)}"
