"""Shared fixtures: a real mock on a loopback port with a frozen virtual clock, and an HTTP
client that holds every response it receives to the bundled spec."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.apis.conformance import family_response_problems as response_problems
from mock_server import Settings, ThreadedServer, VirtualClock, create_app
from mock_server.testing import MockControl

API_KEY = "test-key"
OTHER_KEY = "other-key"
EPOCH_MS = 1_765_182_752_206
MODEL = "bytedance/v1-pro-fast-image-to-video"


def valid_body(**input_fields: str) -> dict:
    fields = {"prompt": "A cup of coffee on a wooden table", "image_url": "https://example.com/cup.png"}
    fields.update(input_fields)
    return {"model": MODEL, "input": fields}


def free_port() -> int:
    """A free loopback port, for servers started as processes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SpecViolation(AssertionError):
    pass


def check_against_spec(response: httpx.Response) -> None:
    response.read()
    request = response.request
    try:
        request_body: bytes | None = request.content
    except httpx.RequestNotRead:  # a streamed upload: its body is not kept
        request_body = None
    problems = response_problems(
        request.method, str(request.url), request_headers=request.headers,
        request_body=request_body, status=response.status_code,
        response_headers=response.headers, response_body=response.content)
    if problems:
        raise SpecViolation(f"{request.method} {request.url} -> {response.status_code} "
                            f"{response.text[:300]}\n" + "\n".join(problems))


def spec_checked_client(base_url: str, api_key: str | None = API_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10,
                        event_hooks={"response": [check_against_spec]})


@dataclass
class RunningMock:
    server: ThreadedServer
    clock: VirtualClock
    client: httpx.Client

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client_for(self, api_key: str | None) -> httpx.Client:
        return spec_checked_client(self.base_url, api_key)

    def task_count(self) -> int:
        return int(self.client.get("/__mock__/health").json()["data"]["tasks"])


def start_mock(**settings: object) -> Iterator[RunningMock]:
    # Rate limits off unless a test is about them: most tests make many calls at one instant.
    base = Settings(api_keys=(API_KEY, OTHER_KEY), speed=0, epoch_ms=EPOCH_MS,
                    create_rate_limit="off", query_rate_limit="off")
    clock = VirtualClock(start_ms=EPOCH_MS, speed=0)
    app = create_app(base.replace(**settings), clock=clock)
    with ThreadedServer(app) as server, spec_checked_client(server.base_url) as client:
        yield RunningMock(server, clock, client)


@pytest.fixture
def mock() -> Iterator[RunningMock]:
    yield from start_mock()


@pytest.fixture(params=["upstream", "mirror"])
def any_policy_mock(request: pytest.FixtureRequest) -> Iterator[RunningMock]:
    yield from start_mock(status_policy=request.param)


@dataclass
class Receiver:
    """A loopback callback receiver that records what it gets and can fail on purpose."""

    server: ThreadedServer
    received: list[dict]
    fail_first: list[int]

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    received: list[dict] = []
    fail_first = [0]

    async def hook(request: Request) -> JSONResponse:
        received.append({"headers": dict(request.headers), "body": await request.body()})
        if fail_first[0] > 0:
            fail_first[0] -= 1
            return JSONResponse({"error": "try again"}, status_code=500)
        return JSONResponse({"ok": True})

    with ThreadedServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        yield Receiver(server, received, fail_first)


def control_for(mock: RunningMock, api_key: str = API_KEY) -> MockControl:
    return MockControl(mock.base_url, api_key)


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Any:
    """The distribution's redis-server on a free loopback port, for the whole session
    (pytest-redis); skipped where it is not installed (CI fails instead: see below)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (as root, `make test` installs it)")
    return request.getfixturevalue("redis_proc")


@pytest.fixture
def redis_url(redis_server: Any) -> Iterator[str]:
    """An empty Redis database for one test."""
    import redis

    url = f"redis://{redis_server.host}:{redis_server.port}/0"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


# CI proves the browser, Redis and name-mapping (Node's fetch over --tls) tests ran: with
# APIKLEY_TESTS_REQUIRE_BROWSER=1, ..._REDIS=1 and ..._INTERCEPT=1 (set by .ci/run) a session
# in which none of a kind passed fails, whether they skipped, failed or were never collected.
REQUIRED_KINDS = {"browser": "APIKLEY_TESTS_REQUIRE_BROWSER", "redis": "APIKLEY_TESTS_REQUIRE_REDIS",
                  "intercept": "APIKLEY_TESTS_REQUIRE_INTERCEPT"}
PASSED_BY_KIND: dict[str, list[str]] = {kind: [] for kind in REQUIRED_KINDS}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for kind, passed in PASSED_BY_KIND.items():
            if kind in report.keywords:
                passed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for kind, variable in REQUIRED_KINDS.items():
        if os.environ.get(variable) == "1" and not PASSED_BY_KIND[kind]:
            session.config.get_terminal_writer().line(
                f"{variable}=1 but no {kind} test passed: failing the session", red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """pytest's own, with pytest-asyncio told its loop scope (its warning would fill the output)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester
