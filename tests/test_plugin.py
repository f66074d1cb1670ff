"""The pytest plugin, as a user meets it: installed, its fixture used from a fresh test file
(the README's example, verbatim), and a callback awaited by advancing the virtual clock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- fixture-example:start -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README lost its fixture example"
    return block.group(1)


def test_readme_fixture_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example=readme_example())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


def test_fixture_waits_for_a_callback_without_sleeping(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_callback='''
import json

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from mock_server import ThreadedServer

received = []


async def hook(request):
    received.append(json.loads(await request.body()))
    return Response(status_code=204)


@pytest.fixture
def receiver():
    with ThreadedServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        yield f"{server.base_url}/hook"


def test_callback(apikley_mock, receiver):
    body = {"model": "bytedance/v1-pro-fast-image-to-video", "callBackUrl": receiver,
            "input": {"prompt": "x", "image_url": "https://example.com/a.png"}}
    task_id = apikley_mock.client.post("/api/v1/jobs/createTask", json=body).json()["data"]["taskId"]
    deliveries = apikley_mock.wait_for_callback(task_id)
    assert [d["result"] for d in deliveries] == ["delivered"]
    assert received[0]["data"]["taskId"] == task_id and received[0]["data"]["state"] == "success"
    assert apikley_mock.callbacks(task_id) == deliveries
    assert [t["record"]["taskId"] for t in apikley_mock.tasks()] == [task_id]


def test_each_test_starts_clean(apikley_mock):
    assert apikley_mock.tasks() == [] and apikley_mock.requests() == []
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_contract_suite_from_pytest_against_the_mock_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_contract='''
def test_mock_keeps_the_contract(apikley_contract):
    report = apikley_contract(schemathesis=False)
    assert report.ok, report.summary()
    assert report.passed["transitions"] > 0 and report.billable_calls == 1
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_contract_suite_from_pytest_against_a_given_server(pytester: pytest.Pytester) -> None:
    from mock_server import Settings, ThreadedServer, create_app
    from tests.contracts.test_engine import breaking, no_msg

    pytester.makepyfile(test_contract='''
def test_server_keeps_the_contract(apikley_contract):
    report = apikley_contract(schemathesis=False)
    assert report.ok, report.summary()
''')
    app = breaking(create_app(Settings(api_keys=("given-key",), speed=0)), no_msg)
    with ThreadedServer(app) as server:  # type: ignore[arg-type]
        result = pytester.runpytest("-p", "no:cacheprovider", f"--apikley-base-url={server.base_url}",
                                    "--apikley-api-key=given-key")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*envelope: expected a string `msg`*"])


def test_a_test_that_turns_maintenance_on_leaves_the_next_one_clean(pytester: pytest.Pytester) -> None:
    """Regression: reset kept maintenance, switched-off features, rate-limit switches and the
    clock's speed, so one test that turned maintenance on broke every test after it."""
    pytester.makepyfile(test_order='''
BODY = {"model": "bytedance/v1-pro-fast-image-to-video",
        "input": {"prompt": "A cup", "image_url": "https://example.com/cup.png"}}
STARTED = []


def test_breaks_things(apikley_mock):
    STARTED.append(apikley_mock.now_ms())
    apikley_mock.toggles(maintenance=True, disabledFeatures=["resolution=720p"], rateLimits=False)
    apikley_mock.call("PUT", "/clock", json={"speed": 50})
    apikley_mock.advance(86400)
    assert apikley_mock.client.post("/api/v1/jobs/createTask", json=BODY).json()["code"] == 455


def test_starts_clean(apikley_mock):
    assert apikley_mock.toggles() == {"maintenance": False, "disabledFeatures": [], "rateLimits": True}
    assert apikley_mock.call("GET", "/clock") == {"now": STARTED[0], "speed": 0}
    assert apikley_mock.client.post("/api/v1/jobs/createTask", json=BODY).json()["code"] == 200
''')
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)


ASYNC_TESTS = '''
import httpx
import pytest

BODY = {"model": "bytedance/v1-pro-fast-image-to-video",
        "input": {"prompt": "A cup", "image_url": "https://example.com/cup.png"}}


@pytest.mark.{marker}
async def test_over_the_socket(apikley_mock_async):
    created = await apikley_mock_async.client.post("/api/v1/jobs/createTask", json=BODY)
    task_id = created.json()["data"]["taskId"]
    await apikley_mock_async.advance(600)
    record = (await apikley_mock_async.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})).json()
    assert record["data"]["state"] == "success"
    assert [t["record"]["taskId"] for t in await apikley_mock_async.tasks()] == [task_id]


@pytest.mark.{marker}
async def test_in_process_with_my_own_client(apikley_mock_inprocess):
    await apikley_mock_inprocess.queue("fail; stage=queuing")
    async with httpx.AsyncClient(transport=apikley_mock_inprocess.transport, base_url="http://localhost",
                                 headers={"Authorization": f"Bearer {apikley_mock_inprocess.api_key}"}) as mine:
        task_id = (await mine.post("/api/v1/jobs/createTask", json=BODY)).json()["data"]["taskId"]
        await apikley_mock_inprocess.advance(600)
        record = (await mine.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})).json()["data"]
    assert record["state"] == "fail"


@pytest.mark.{marker}
async def test_seeded_in_process(apikley_mock_inprocess):
    task_id = await apikley_mock_inprocess.seed_task(BODY, state="fail", failCode="422", failMsg="blocked")
    record = (await apikley_mock_inprocess.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})).json()
    assert (record["data"]["state"], record["data"]["failMsg"]) == ("fail", "blocked")
'''


@pytest.mark.parametrize(("plugin", "marker"), [("anyio", "anyio"), ("pytest_asyncio", "asyncio")])
def test_the_async_fixtures_work_under_anyio_and_pytest_asyncio(pytester: pytest.Pytester, plugin: str,
                                                                marker: str) -> None:
    pytester.makepyfile(test_async=ASYNC_TESTS.replace("{marker}", marker))
    only = ["-p", "no:asyncio"] if plugin == "anyio" else [
        "-p", "no:anyio", "-o", "asyncio_default_fixture_loop_scope=function"]
    result = pytester.runpytest("-p", "no:cacheprovider", *only)
    result.assert_outcomes(passed=3)


def test_a_test_that_spoils_its_client_leaves_the_next_one_a_fresh_one(pytester: pytest.Pytester) -> None:
    """Each test's `client` is new (on the session's connection pool): closing it or changing
    its headers in one test reaches no other; the control calls skip the socket either way."""
    pytester.makeconftest('''
import pytest
from mock_server import Settings


@pytest.fixture(scope="session")
def apikley_mock_settings():
    return Settings(api_keys=("team-key",), speed=0, admin_token="s3cret-token")
''')
    pytester.makepyfile(test_spoil='''
BODY = {"model": "bytedance/v1-pro-fast-image-to-video",
        "input": {"prompt": "A cup", "image_url": "https://example.com/cup.png"}}


def test_spoils_it(apikley_mock):
    apikley_mock.client.headers["Authorization"] = "Bearer not-a-key"
    assert apikley_mock.client.post("/api/v1/jobs/createTask", json=BODY).json()["code"] == 401
    apikley_mock.client.close()


def test_gets_a_fresh_one(apikley_mock):
    created = apikley_mock.client.post("/api/v1/jobs/createTask", json=BODY).json()
    assert created["code"] == 200
    apikley_mock.advance(600)
    assert apikley_mock.task(created["data"]["taskId"])["record"]["state"] == "success"
    assert [entry["status"] for entry in apikley_mock.requests()] == [200]
''')
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)
