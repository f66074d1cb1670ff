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
    result.assert_outcomes(passed=2)


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
