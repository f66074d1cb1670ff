"""`apikley-contract run --api NAME`: the family's other APIs checked from their specs and
mappings alone, clean against the mock, and each broken promise caught by its own check."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from starlette.types import Scope

from contracts.apis import bundled_apis
from tests.contracts.test_engine import KEY, breaking, failed_checks, mock_app, run_against


@pytest.mark.parametrize("name", sorted(bundled_apis()))
def test_each_api_passes_clean_against_the_mock(name: str) -> None:
    report = run_against(mock_app(webhook_hmac_key="hook-key"), hmac_key="hook-key", apis=(name,))
    assert report.failures == []
    checks = [f"{name}_{check}" for check in ("auth", "validation", "unknown_task", "create", "record",
                                              "transitions", "terminal_stays", "result_set", "result_media",
                                              "callback_delivered", "callback", "schemathesis")]
    assert all(report.passed.get(check) for check in checks), {check: report.passed.get(check) for check in checks}
    assert report.passed.get("conforms_to_spec")  # every answer held to the API's own spec, fuzzed ones too
    if name == "suno":
        assert report.passed[f"{name}_callback"] == 3 and report.passed[f"{name}_cover"] == 2
    assert report.billable_calls == 1


def veo_result_urls_as_a_json_string(scope: Scope, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Some old docs showed Veo's resultUrls as a JSON string: clients break on it."""
    response = (body.get("data") or {}).get("response") if isinstance(body.get("data"), dict) else None
    if scope["path"] == "/api/v1/veo/record-info" and isinstance(response, dict):
        response["resultUrls"] = json.dumps(response["resultUrls"])
    return status, body


def suno_going_back_to_pending(scope: Scope, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = body.get("data")
    if scope["path"] == "/api/v1/generate/record-info" and isinstance(data, dict) and \
            data.get("status") == "FIRST_SUCCESS":
        data["status"] = "PENDING"
    return status, body


def veo_flag_as_a_string(scope: Scope, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = body.get("data")
    if scope["path"] == "/api/v1/veo/record-info" and isinstance(data, dict):
        data["successFlag"] = str(data["successFlag"])
    return status, body


def runway_market_not_found(scope: Scope, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if scope["path"] == "/api/v1/runway/record-detail" and body.get("code") == 422:
        body["msg"] = "recordInfo is null"  # the market's words, not Runway's
    return status, body


@pytest.mark.parametrize(("api", "mutation", "check"), [
    ("veo", veo_result_urls_as_a_json_string, "conforms_to_spec"),
    ("veo", veo_result_urls_as_a_json_string, "veo_result_set"),
    ("veo", veo_flag_as_a_string, "veo_record"),
    ("suno", suno_going_back_to_pending, "suno_transitions"),
    ("runway", runway_market_not_found, "runway_unknown_task"),
])
def test_each_broken_api_server_is_caught_by_the_right_check(api: str, mutation: Any, check: str) -> None:
    report = run_against(breaking(mock_app(), mutation), apis=(api,), schemathesis=False)
    assert check in failed_checks(report), failed_checks(report)


def test_the_cli_checks_an_api_and_refuses_an_unknown_one() -> None:
    done = subprocess.run([sys.executable, "-m", "contracts.cli", "run", "--base-url", "http://127.0.0.1:9",
                           "--api-key", KEY, "--api", "sora"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "sora" in done.stderr and "veo" in done.stderr and "Traceback" not in done.stderr


def test_a_real_profile_run_counts_an_apis_create_against_the_budget() -> None:
    report = run_against(mock_app(), apis=("veo", "suno"), profile="real", max_billable=1, schemathesis=False)
    assert report.billable_sent == 1 and "budget" in failed_checks(report)
