"""The pytest fixtures' cost per test (issue #25): what a suite pays for each test that uses
one, side by side with an empty test (sync, or async under anyio for the async fixtures), the
same three calls made to a bare Starlette app over the same kind of socket (the floor any
mock in a thread meets), and what the plugins cost a session that uses none.

Each kind runs as its own pytest session of `TESTS` tests (a subprocess, as a user's suite
runs); a timing plugin notes when each test finished, and the per-test figure is the mean
from the end of the first test (which starts the session's mock) to the end of the last:
setup (the reset), the call, teardown and pytest's own work, everything a test pays.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
TESTS = 250
SESSIONS = 4  # the best of: a busy VM only ever adds
BODY = ('{"model": "bytedance/v1-pro-fast-image-to-video", "input": {"prompt": "A cup of coffee", '
        '"image_url": "https://example.com/cup.png"}}')

TIMING_PLUGIN = '''
import json, os, time
finished = []
def pytest_runtest_logfinish(nodeid, location):
    finished.append(time.perf_counter())
def pytest_sessionfinish(session):
    with open(os.environ["FIXTURE_BENCH_OUT"], "w") as out:
        json.dump(finished, out)
'''

# One test body per kind: reset (by the fixture), one create, an advance, one read.
CREATE = "/api/v1/jobs/createTask"
READ = "/api/v1/jobs/recordInfo"
BARE_CONFTEST = '''
import httpx, pytest
from bench.bare_app import app
from contracts.run.serving import ThreadedServer

@pytest.fixture
def bare_inprocess():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost", trust_env=False)

@pytest.fixture(scope="session")
def bare():
    with ThreadedServer(app) as server, httpx.Client(base_url=server.base_url, trust_env=False) as client:
        yield client
'''

KINDS = {
    "empty test": "def test_{n}():\n    pass\n",
    "empty async test (anyio)": "@pytest.mark.anyio\nasync def test_{n}():\n    pass\n",
    "bare app, the 3 calls": (
        "def test_{n}(bare):\n"
        "    bare.post('/json', json=BODY)\n"
        "    bare.post('/json', json={{'seconds': 120}})\n"
        "    assert bare.get('/json').status_code == 200\n"),
    "bare app in-process, 3 calls": (
        "@pytest.mark.anyio\n"
        "async def test_{n}(bare_inprocess):\n"
        "    await bare_inprocess.post('/json', json=BODY)\n"
        "    await bare_inprocess.post('/json', json={{'seconds': 120}})\n"
        "    assert (await bare_inprocess.get('/json')).status_code == 200\n"),
    "apikley_mock (socket)": (
        "def test_{n}(apikley_mock):\n"
        "    task = apikley_mock.client.post(CREATE, json=BODY).json()['data']['taskId']\n"
        "    apikley_mock.advance(120)\n"
        "    assert apikley_mock.client.get(READ, params={{'taskId': task}}).json()['code'] == 200\n"),
    "apikley_mock_async (socket)": (
        "@pytest.mark.anyio\n"
        "async def test_{n}(apikley_mock_async):\n"
        "    m = apikley_mock_async\n"
        "    task = (await m.client.post(CREATE, json=BODY)).json()['data']['taskId']\n"
        "    await m.advance(120)\n"
        "    assert (await m.client.get(READ, params={{'taskId': task}})).json()['code'] == 200\n"),
    "apikley_mock_inprocess": (
        "@pytest.mark.anyio\n"
        "async def test_{n}(apikley_mock_inprocess):\n"
        "    m = apikley_mock_inprocess\n"
        "    task = (await m.client.post(CREATE, json=BODY)).json()['data']['taskId']\n"
        "    await m.advance(120)\n"
        "    assert (await m.client.get(READ, params={{'taskId': task}})).json()['code'] == 200\n"),
}


def baseline(kind: str) -> str:
    """The empty test a kind is measured against: async kinds pay for their event loop too."""
    return "empty async test (anyio)" if KINDS[kind].startswith("@pytest.mark.anyio") else "empty test"


def session(folder: Path, source: str, *options: str) -> tuple[float, list[float]]:
    """One pytest session over `source`: its wall time and when each test finished."""
    (folder / "test_kind.py").write_text(source)
    out = folder / "finished.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "timing", *options,
                    str(folder / "test_kind.py")], cwd=folder, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "FIXTURE_BENCH_OUT": str(out),
                        "PYTHONPATH": os.pathsep.join((str(folder), str(ROOT)))})
    return time.perf_counter() - started, json.loads(out.read_text())


def per_test_ms(folder: Path, body: str) -> float:
    head = f"import pytest\nBODY = {BODY}\nCREATE = {CREATE!r}\nREAD = {READ!r}\n\n"
    _, finished = session(folder, head + "\n".join(body.format(n=n) for n in range(TESTS)))
    return (finished[-1] - finished[0]) / (len(finished) - 1) * 1000


def best_per_test_ms(folder: Path) -> dict[str, float]:
    """Every kind once a round, rounds interleaved (a shared VM drifts), the best of each."""
    best = dict.fromkeys(KINDS, float("inf"))
    for _ in range(SESSIONS):
        for kind, body in KINDS.items():
            best[kind] = min(best[kind], per_test_ms(folder, body))
    return best


PLUGIN_IMPORT = (
    "import time, pytest, _pytest.fixtures\n"
    "started = time.perf_counter()\n"
    "import mock_server.pytest_plugin, contracts.pytest_plugin\n"
    "print(time.perf_counter() - started)\n")


def plugin_cost_ms() -> float:
    """What loading the two plugins (pytest imports each entry point at start) adds to any
    session, fixtures used or not: the import in fresh interpreters, median of 15. (Whole
    pytest sessions vary by hundreds of ms on a shared VM, which would drown it.)"""
    runs = [float(subprocess.run([sys.executable, "-c", PLUGIN_IMPORT], check=True, capture_output=True, text=True,
                                 cwd=ROOT).stdout) * 1000 for _ in range(15)]
    return statistics.median(runs)


def fixture_costs() -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "timing.py").write_text(TIMING_PLUGIN)
        (folder / "conftest.py").write_text(BARE_CONFTEST)
        (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        figures = best_per_test_ms(folder)
    plugins = plugin_cost_ms()
    lines = [f"fixture cost per test ({TESTS} tests a session, best of {SESSIONS}; reset + create + advance + read):"]
    for kind, ms in figures.items():
        empty = figures[baseline(kind)]
        lines.append(f"  {kind:<28} {ms:7.2f} ms/test   over an empty test {ms - empty:6.2f} ms")
    for fixture, floor in (("apikley_mock (socket)", "bare app, the 3 calls"),
                           ("apikley_mock_inprocess", "bare app in-process, 3 calls")):
        empty = figures[baseline(fixture)]
        own = figures[fixture] - figures[floor]
        lines.append(f"  {fixture}: {(figures[fixture] - empty) / (figures[floor] - empty):.2f}x"
                     f" the same 3 calls to a bare app; the mock's own part (reset, its work) {own:.2f} ms")
    lines.append(f"  loading both plugins (every session pays it): {plugins:.1f} ms (median of 15 fresh interpreters)")
    return lines


if __name__ == "__main__":
    print("\n".join(fixture_costs()))
