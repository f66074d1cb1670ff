"""`apikley-contract webhook` against handlers that are right, naive, or broken."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.run.serving import ThreadedServer
from contracts.spec.names import sign_callback as signature
from contracts.webhook import check_webhook, sample_payloads

KEY = "handler-key"


def handler(*, verifies: bool, fails: bool = False) -> Starlette:
    seen: set[str] = set()

    async def receive(request: Request) -> Response:
        payload = json.loads(await request.body())
        task_id = payload["data"]["taskId"]
        if verifies:
            timestamp = request.headers.get("x-webhook-timestamp", "")
            if request.headers.get("x-webhook-signature") != signature(KEY, task_id, timestamp):
                return Response(status_code=401)
        if fails:
            return Response(status_code=500)
        seen.add(task_id)  # idempotent: a repeat is simply acknowledged again
        return Response(status_code=204)

    return Starlette(routes=[Route("/hook", receive, methods=["POST"])])


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[str]:
    with ThreadedServer(request.param) as server:
        yield f"{server.base_url}/hook"


@pytest.mark.parametrize("target", [handler(verifies=True)], indirect=True)
def test_a_correct_handler_passes(target: str) -> None:
    report = check_webhook(target, hmac_key=KEY)
    assert report.failures == []
    assert report.passed["handler_accepts_success"] == 3 and report.passed["handler_accepts_fail"] == 3
    assert report.passed["handler_accepts_duplicate"] == 1 and report.passed["handler_refuses_forgery"] == 1


@pytest.mark.parametrize("target", [handler(verifies=False)], indirect=True)
def test_a_handler_that_trusts_any_signature_is_caught(target: str) -> None:
    report = check_webhook(target, hmac_key=KEY)
    assert [failure.check for failure in report.failures] == ["handler_refuses_forgery"]
    assert report.failures[0].reproducer.startswith("curl ")


@pytest.mark.parametrize("target", [handler(verifies=False, fails=True)], indirect=True)
def test_a_handler_answering_500_is_caught_through_the_cli(target: str) -> None:
    done = subprocess.run([sys.executable, "-m", "contracts.cli", "webhook", "--target", target],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "handler_accepts_success" in done.stdout and "HTTP 500" in done.stdout


def test_payloads_are_spec_valid_and_reproducible() -> None:
    first, again = sample_payloads(2, 7), sample_payloads(2, 7)
    assert first == again
    assert [p["data"]["state"] for p in first] == ["success", "success", "fail", "fail"]
