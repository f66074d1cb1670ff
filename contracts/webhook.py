"""Test the user's own callback handler: spec-valid success and failure callbacks generated
from the spec (signed when a key is given), a duplicate delivery, and a forged signature.
The handler must answer 2xx within 15 s, accept the duplicate, and refuse the forgery."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.strategies import SearchStrategy

from contracts.api import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from contracts.report import Failure, Report, curl
from contracts.strategies import callback_payloads

TIMEOUT_SECONDS = 15.0  # upstream gives receivers 15 s


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
    report = Report()
    payloads = sample_payloads(examples, seed)
    with httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS) as client:

        def deliver(check: str, payload: dict[str, Any], headers: dict[str, str], *, want_2xx: bool) -> None:
            request = client.build_request("POST", target, content=json.dumps(payload).encode(), headers=headers)
            try:
                response = client.send(request)
                got = f"HTTP {response.status_code}"
                ok = (200 <= response.status_code < 300) == want_2xx
            except httpx.TimeoutException:
                got, ok = f"no answer within {TIMEOUT_SECONDS:g} s", False
            except httpx.HTTPError as exc:
                got, ok = f"{type(exc).__name__}: {exc}", False
            if ok:
                report.passed[check] += 1
            else:
                expected = "a 2xx answer within 15 s" if want_2xx else "a refusal (non-2xx)"
                report.failures.append(Failure(check, expected, got, curl(request)))

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
    return report
