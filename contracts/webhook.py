"""Test the user's own callback handler: spec-valid success and failure callbacks generated
from the spec (signed when a key is given), a duplicate delivery, and a forged signature.
The handler must answer 2xx in time (the spec's receiver timeout), accept the duplicate, and refuse the forgery."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.strategies import SearchStrategy

from contracts.checks.report import Report, curl
from contracts.checks.verdicts import CheckFailed, Verdicts
from contracts.spec.names import RECEIVER_TIMEOUT_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from contracts.strategies import callback_payloads


def draw(strategy: SearchStrategy[Any], count: int, seed_value: int) -> list[Any]:
    """`count` values of `strategy`, the same ones for the same seed."""
    drawn: list[Any] = []

    @seed(seed_value)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        if len(drawn) < count:
            drawn.append(value)

    collect()
    return drawn


def sample_payloads(count: int, seed_value: int) -> list[dict[str, Any]]:
    """`count` success and `count` failure callbacks."""
    return [payload for state in ("success", "fail")
            for payload in draw(callback_payloads(state), count, seed_value)]


def signed_headers(key: str | None, task_id: str, now: float) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        timestamp = str(int(now))
        headers |= {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign_callback(key, task_id, timestamp)}
    return headers


def check_webhook(target: str, *, hmac_key: str | None = None, examples: int = 3, seed: int = 0,
                  transport: httpx.BaseTransport | None = None) -> Report:
    verdicts = Verdicts()
    payloads = sample_payloads(examples, seed)
    with httpx.Client(transport=transport, timeout=RECEIVER_TIMEOUT_SECONDS) as client:

        def deliver(check: str, payload: dict[str, Any], headers: dict[str, str], *, want_2xx: bool) -> None:
            request = client.build_request("POST", target, content=json.dumps(payload).encode(), headers=headers)
            verdicts.check(check, _answered, client, request, want_2xx, reproducer=lambda: curl(request))

        for payload in payloads:
            task_id = payload["data"]["taskId"]
            deliver(f"handler_accepts_{payload['data']['state']}", payload,
                    signed_headers(hmac_key, task_id, time.time()), want_2xx=True)
        first = payloads[0]
        deliver("handler_accepts_duplicate", first, signed_headers(hmac_key, first["data"]["taskId"], time.time()),
                want_2xx=True)
        if hmac_key is not None:
            forged = signed_headers(hmac_key + "-forged", first["data"]["taskId"], time.time())
            deliver("handler_refuses_forgery", first, forged, want_2xx=False)
    return verdicts.report


def _answered(client: httpx.Client, request: httpx.Request, want_2xx: bool) -> None:
    """The handler answered in time: 2xx when it should accept, anything else when it should refuse."""
    expected = f"a 2xx answer within {RECEIVER_TIMEOUT_SECONDS:g} s" if want_2xx else "a refusal (non-2xx)"
    try:
        response = client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout):
        raise  # nothing listens there: not the handler's verdict (the CLI says so in one line)
    except httpx.TimeoutException as exc:
        raise CheckFailed(expected, f"no answer within {RECEIVER_TIMEOUT_SECONDS:g} s") from exc
    except httpx.HTTPError as exc:
        raise CheckFailed(expected, f"{type(exc).__name__}: {exc}") from exc
    if (200 <= response.status_code < 300) != want_2xx:
        raise CheckFailed(expected, f"HTTP {response.status_code}")
