"""The contract run: clean against the mock, and each rule caught by its own check when a
deliberately broken server violates it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.checks.report import Report
from contracts.engine import RunOptions, run_contract
from contracts.run.state import MockClock
from contracts.spec.names import CREATE_TASK
from mock_server import Settings, ThreadedServer, create_app
from mock_server.sim import scenarios

KEY = "contract-key"
Mutation = Callable[[Scope, int, dict[str, Any]], tuple[int, dict[str, Any]]]


def breaking(app: ASGIApp, mutate: Mutation) -> ASGIApp:
    """The app, with every JSON answer passed through `mutate(scope, status, body)`."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body, status = b"".join(chunks), start["status"]
            headers = dict(start["headers"])
            if headers.get(b"content-type", b"").startswith(b"application/json"):
                status, changed = mutate(scope, status, json.loads(body))
                body = json.dumps(changed).encode()
            headers[b"content-length"] = str(len(body)).encode()
            await send({**start, "status": status, "headers": list(headers.items())})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


def run_against(app: ASGIApp, *, waiter: Any = None, **options: Any) -> Report:
    with ThreadedServer(app) as server:  # type: ignore[arg-type]
        return run_contract(RunOptions(base_url=server.base_url, api_key=KEY, **options),
                            waiter=waiter(server.base_url) if waiter else None)


def mock_app(**settings: Any) -> Any:
    return create_app(Settings(api_keys=(KEY,), speed=0, **settings))


def failed_checks(report: Report) -> set[str]:
    return {failure.check for failure in report.failures}


def test_the_mock_passes_clean_with_every_phase_within_a_minute() -> None:
    started = time.monotonic()
    report = run_against(mock_app(webhook_hmac_key="hook-key"), hmac_key="hook-key")
    assert report.failures == []
    assert time.monotonic() - started < 60
    for check in ("envelope", "status_policy", "conforms_to_spec", "auth", "validation", "unknown_task",
                  "create_task", "record_fields", "transitions", "terminal_stays", "result_media",
                  "callback_delivered", "callback", "schemathesis"):
        assert report.passed[check] > 0, check
    assert report.billable_calls == 1


def on(path: str, method: str = "") -> Callable[[Scope], bool]:
    return lambda scope: scope["path"].endswith(path) and (not method or scope["method"] == method)


def result_json_as_object(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    data = body.get("data")
    if on("/recordInfo")(scope) and isinstance(data, dict) and data.get("resultJson"):
        data["resultJson"] = json.loads(data["resultJson"])
    return status, body


def state_going_backwards() -> Mutation:
    seen = {"generating": 0}

    def mutate(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
        data = body.get("data")
        if on("/recordInfo")(scope) and isinstance(data, dict) and data.get("state") == "generating":
            seen["generating"] += 1
            if seen["generating"] == 2:
                data["state"] = "queuing"
        return status, body
    return mutate


def server_error_on_valid_create(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    if on("/createTask")(scope) and body.get("code") == 200:
        return 500, {"code": 500, "msg": "Internal server error", "data": None}
    return status, body


def invalid_enum_accepted(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    if on("/createTask")(scope) and body.get("code") == 422 and "480p" in body.get("msg", ""):
        return 200, {"code": 200, "msg": "success", "data": {"taskId": "task_bytedance_1765182752206"}}
    return status, body


def negative_cost_time(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    data = body.get("data")
    if on("/recordInfo")(scope) and isinstance(data, dict) and data.get("costTime") is not None:
        data["costTime"] = -5
    return status, body


def missing_key_accepted(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    if on("/createTask")(scope) and body.get("code") == 401:
        return 200, {"code": 200, "msg": "success", "data": {"taskId": "task_bytedance_1765182752207"}}
    return status, body


def no_msg(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    body.pop("msg", None)
    return status, body


def unknown_task_found(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    if on("/recordInfo")(scope) and body.get("msg") == "recordInfo is null":
        return 200, {"code": 200, "msg": "success", "data": None}
    return status, body


def http_status_disagrees(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
    return (418 if body.get("code") == 422 else status), body


BROKEN = {
    "resultJson-as-object": (result_json_as_object, "record_fields"),
    "state-goes-backwards": (state_going_backwards, "transitions"),
    "500-on-a-valid-body": (server_error_on_valid_create, "create_task"),
    "invalid-enum-accepted": (invalid_enum_accepted, "validation"),
    "negative-costTime": (negative_cost_time, "conforms_to_spec"),
    "missing-key-accepted": (missing_key_accepted, "auth"),
    "no-msg": (no_msg, "envelope"),
    "unknown-task-found": (unknown_task_found, "unknown_task"),
    "http-status-disagrees": (http_status_disagrees, "status_policy"),
}


@pytest.mark.parametrize(("mutation", "check"), BROKEN.values(), ids=BROKEN.keys())
def test_each_broken_server_is_caught_by_the_right_check(mutation: Any, check: str) -> None:
    mutate = mutation() if mutation is state_going_backwards else mutation
    report = run_against(breaking(mock_app(), mutate), schemathesis=False)
    assert check in failed_checks(report), report.failures
    failure = next(f for f in report.failures if f.check == check)
    assert failure.expected and failure.got
    assert failure.reproducer.startswith("curl ") and KEY not in failure.reproducer


def test_a_mirroring_server_gets_all_of_schemathesis_built_in_checks() -> None:
    report = run_against(mock_app(status_policy="mirror", create_rate_limit="off", query_rate_limit="off"))
    assert report.failures == [] and report.passed["schemathesis"] == 1

    def ignore_auth_on_credit(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
        if on("/chat/credit")(scope) and body.get("code") == 401:
            return 200, {"code": 200, "msg": "success", "data": 1.0}
        return status, body

    broken = run_against(breaking(mock_app(status_policy="mirror"), ignore_auth_on_credit))
    failure = next(f for f in broken.failures if f.check == "schemathesis")
    assert "ST" in failure.got  # one of schemathesis' own checks (e.g. ignored auth)


def test_a_wrong_callback_signature_is_caught() -> None:
    report = run_against(mock_app(webhook_hmac_key="server-key"), hmac_key="client-key", schemathesis=False)
    assert failed_checks(report) == {"callback"}
    assert "X-Webhook-Signature" in report.failures[0].expected


def test_a_callback_that_never_comes_is_caught() -> None:
    app = mock_app()
    app.state.services.admission.enqueue(KEY, CREATE_TASK, scenarios.parse("callback-drop", "test"), 1)
    report = run_against(app, schemathesis=False, callback_wait_seconds=0.5)
    assert failed_checks(report) == {"callback_delivered"}


def test_schemathesis_phase_reports_a_server_error() -> None:
    def crash_on_credit(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
        if on("/chat/credit")(scope):
            return 500, {"code": 500, "msg": "boom", "data": None}
        return status, body

    report = run_against(breaking(mock_app(), crash_on_credit))
    assert "schemathesis" in failed_checks(report)


def test_schemathesis_phase_applies_this_apis_checks_to_fuzzed_answers() -> None:
    # HTTP 401 and the 401 schema are both documented, so only this API's status check objects.
    def success_sent_as_401(scope: Scope, status: int, body: dict) -> tuple[int, dict]:
        if on("/chat/credit")(scope) and body.get("code") == 200:
            return 401, body
        return status, body

    report = run_against(breaking(mock_app(), success_sent_as_401))
    failure = next(f for f in report.failures if f.check == "schemathesis")
    assert "HTTP 200 for code 200" in failure.got or "apikley_status_policy" in failure.got, failure


def test_the_budget_is_enforced_where_requests_are_sent() -> None:
    report = run_against(mock_app(), max_billable=0, schemathesis=False)
    assert report.billable_calls == 0
    assert "budget" in failed_checks(report)
    # Profile real waits on the wall clock; here the mock's clock moves instead of sleeping.
    real = run_against(mock_app(), profile="real", schemathesis=False,
                       waiter=lambda base_url: MockClock(httpx.Client(base_url=base_url)))
    assert real.billable_calls == 1 and real.failures == []


def test_cli_exit_codes_and_reports(tmp_path: Path) -> None:
    for app, expected in ((mock_app(), 0), (breaking(mock_app(), no_msg), 1)):
        with ThreadedServer(app) as server:  # type: ignore[arg-type]
            done = subprocess.run(
                [sys.executable, "-m", "contracts.cli", "run", "--base-url", server.base_url, "--api-key", KEY,
                 "--no-schemathesis", "--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")],
                capture_output=True, text=True, timeout=120)
        assert done.returncode == expected, done.stdout + done.stderr
        assert "billable calls made: 1" in done.stdout
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["ok"] is (expected == 0)
        assert "<testsuite" in (tmp_path / "j.xml").read_text()
        if expected:
            assert "reproduce: curl" in done.stdout and "$APIKLEY_API_KEY" in done.stdout




def test_cli_with_a_wrong_key_says_so_and_stops_early() -> None:
    with ThreadedServer(mock_app()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "contracts.cli", "run", "--base-url", server.base_url, "--api-key", "not-the-key"],
            capture_output=True, text=True, timeout=120)
        created = httpx.get(f"{server.base_url}/__mock__/requests").json()["data"]
    assert done.returncode == 1
    assert "every request with --api-key was refused for auth (code 401)" in done.stdout
    assert "== auth" not in done.stdout and "== schemathesis" not in done.stdout  # stopped early
    assert "billable calls made: 0" in done.stdout
    assert "not-the-key" not in done.stdout
    assert len(created) == 1  # one request told it all


def test_cli_prints_each_phase_with_its_counts() -> None:
    with ThreadedServer(mock_app()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "contracts.cli", "run", "--base-url", server.base_url, "--api-key", KEY,
             "--no-schemathesis"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    counts = re.findall(r"^   (.+): (\d+) checks passed, (\d+) failed$", done.stdout, re.M)
    assert [phase for phase, _, _ in counts] == ["api key", "auth", "validation", "unknown task",
                                                 "lifecycle and callbacks: bytedance/v1-pro-fast-image-to-video"]
    assert all(int(passed) > 0 and failed == "0" for _, passed, failed in counts)


def test_billable_calls_count_only_what_the_server_accepted() -> None:
    broke = run_against(mock_app(initial_balance=0.0), schemathesis=False)  # createTask answers 402
    assert (broke.billable_calls, broke.billable_sent) == (0, 1)
    assert "create_task" in failed_checks(broke)
    fine = run_against(mock_app(), schemathesis=False)
    assert (fine.billable_calls, fine.billable_sent) == (1, 1)


def edge_page_on(path: str, app: ASGIApp, *, after: int = 0) -> ASGIApp:
    """The app, but calls to `path` past the first `after` get an edge proxy's HTML 502."""
    seen = [0]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(path):
            seen[0] += 1
            if seen[0] > after:
                page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                await send({"type": "http.response.start", "status": 502,
                            "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(page))]})
                await send({"type": "http.response.body", "body": page})
                return
        await app(scope, receive, send)

    return wrapped


@pytest.mark.parametrize(("path", "after", "check"), [
    ("/recordInfo", 1, "record_found"),  # the second poll meets the edge's page
    ("/createTask", 6, "create_task"),  # past the auth and validation probes: the task's own create
    ("/chat/credit", 0, "api_key"),  # the very first call
])
def test_an_answer_that_is_not_json_is_a_failure_not_a_traceback(path: str, after: int, check: str) -> None:
    """Regression: an edge's HTML 502 where the run reads JSON raised out of run_contract."""
    report = run_against(edge_page_on(path, mock_app(), after=after), schemathesis=False)
    assert check in failed_checks(report)
    failure = next(f for f in report.failures if f.check == check)
    assert "502" in failure.got and failure.reproducer.startswith("curl ")
