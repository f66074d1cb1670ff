"""`serve --db` killed with SIGKILL: acknowledged tasks, the clock and callbacks survive.

Regression for the soak's hard-kill figure: a callback handed to the dispatcher (or in flight)
when the process died was lost, because the task was already marked settled. Now a task's
callback is tracked to its final result and resumed after a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.run.serving import ThreadedServer
from mock_server.testing import MockProcess
from tests.conftest import API_KEY, valid_body

AUTH = {"Authorization": f"Bearer {API_KEY}"}


class HangingReceiver:
    """Holds the first delivery open (as a slow receiver would) until released; then answers 200."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.delivered: list[str] = []

    async def hook(self, request: Request) -> JSONResponse:
        task_id = (await request.json())["data"]["taskId"]
        if not self.arrived.is_set():
            self.arrived.set()
            while not self.release.is_set():  # bounded by the mock's 15 s timeout, released sooner
                await asyncio.sleep(0.01)
            return JSONResponse({"late": True})
        self.delivered.append(task_id)
        return JSONResponse({"ok": True})


def serving(db: Path) -> MockProcess:
    return MockProcess("--port", "0", "--db", str(db), "--speed", "0", "--api-key", API_KEY, "--log-level", "warning")


def test_a_callback_in_flight_at_a_kill_is_delivered_after_the_restart(tmp_path: Path) -> None:
    receiver = HangingReceiver()
    db = tmp_path / "mock.db"
    with ThreadedServer(Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])) as hooks:
        with serving(db) as process:
            base = process.base_url
            task_id = httpx.post(f"{base}/api/v1/jobs/createTask", headers=AUTH,
                                 json=valid_body() | {"callBackUrl": f"{hooks.base_url}/hook"}).json()["data"]["taskId"]
            unsent = httpx.post(f"{base}/api/v1/jobs/createTask", headers=AUTH,
                                json=valid_body()).json()["data"]["taskId"]  # no callback: nothing to resume
            httpx.post(f"{base}/__mock__/clock/advance", json={"seconds": 600})  # both end; one delivery starts
            assert receiver.arrived.wait(timeout=10)
            clock = httpx.get(f"{base}/__mock__/clock").json()["data"]["now"]
            process.kill9()
        receiver.release.set()
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with serving(db) as restarted:
            base = restarted.base_url
            assert httpx.get(f"{base}/__mock__/clock").json()["data"]["now"] >= clock  # resumed, not reset
            for known in (task_id, unsent):
                record = httpx.get(f"{base}/api/v1/jobs/recordInfo", params={"taskId": known}, headers=AUTH).json()
                assert record["data"]["state"] == "success"
            flushed = httpx.post(f"{base}/__mock__/callbacks/flush", timeout=30).json()["data"]
            assert flushed["pending"] == []
            assert receiver.delivered == [task_id]
            journal = httpx.get(f"{base}/__mock__/callbacks", params={"taskId": task_id}).json()["data"]
            assert [entry["result"] for entry in journal] == ["delivered"]
        with serving(db) as again:  # delivered: never sent again
            base = again.base_url
            httpx.post(f"{base}/__mock__/callbacks/flush", timeout=30)
            assert receiver.delivered == [task_id]
