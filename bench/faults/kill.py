"""Figure 3: kill -9 under createTask load at a random instant, restart on the same `--db`
file, 20 times. After each restart: every acknowledged task exists, the clock resumed (never
before an acknowledged task), every callback due is delivered or recorded, and SQLite's
`PRAGMA integrity_check` passes."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.faults.common import (
    auth,
    control,
    create_body,
    mock_process,
    settle_everything,
    workdir,
)
from contracts.run.serving import ThreadedServer
from contracts.spec.names import CREATE_TASK_PATH, TASK_DETAILS_PATH
from mock_server.testing import MockProcess

KEY = "kill-key"
# 300 virtual seconds per wall second: tasks end within a few tenths of a second, so callbacks
# are due, queued and in flight at every kill instant.
CLIENTS = 8
PACE_SECONDS = 0.02  # per client between calls: a steady load, not a flood


class CountingReceiver:
    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def hook(self, request: Request) -> JSONResponse:
        try:
            task_id = str(((await request.json()).get("data") or {}).get("taskId"))
        except ClientDisconnect:  # the mock was killed while sending: not a delivery
            return JSONResponse({"ok": False}, status_code=499)
        with self.lock:
            self.deliveries[task_id] += 1
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


def load_until_killed(mock: MockProcess, hook_url: str, rng: random.Random, kill_after: float) -> list[str]:
    """CLIENTS threads sending createTask until the mock is killed at `kill_after` seconds;
    returns the task ids whose createTask answer arrived (acknowledged)."""
    acknowledged: list[str] = []
    lock = threading.Lock()
    bodies = [create_body(random.Random(rng.random()), hook_url) for _ in range(CLIENTS)]

    def client(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=mock.base_url, timeout=5) as http:
            while True:
                try:
                    answer = http.post(CREATE_TASK_PATH, json=body, headers=auth(KEY)).json()
                except (httpx.HTTPError, ValueError):
                    return  # killed: this answer never arrived, so the task is not acknowledged
                if answer.get("code") == 200:
                    with lock:
                        acknowledged.append(answer["data"]["taskId"])
                time.sleep(PACE_SECONDS)

    threads = [threading.Thread(target=client, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    time.sleep(kill_after)  # the random kill instant: wall time is the point here
    mock.kill9()
    for thread in threads:
        thread.join(timeout=10)
    return acknowledged


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def verify(mock: MockProcess, acknowledged: list[str], receiver: CountingReceiver) -> list[str]:
    problems = []
    now = control(mock, "GET", "/clock")["now"]
    control(mock, "PUT", "/toggles", json={"rateLimits": False})
    created = []
    with httpx.Client(base_url=mock.base_url, headers=auth(KEY), timeout=30) as client:
        for task_id in acknowledged:
            answer = client.get(TASK_DETAILS_PATH, params={"taskId": task_id}).json()
            if answer["code"] != 200:
                problems.append(f"{task_id}: acknowledged but lost after restart ({answer['msg']})")
            else:
                created.append(answer["data"]["createTime"])
    if created and now < max(created):
        problems.append(f"clock resumed at {now}, before an acknowledged task ({max(created)})")
    pending = settle_everything(mock)
    if pending:
        problems.append(f"{len(pending)} callbacks still pending")
    journal = {entry["taskId"]: entry for entry in control(mock, "GET", "/callbacks", params={"apiKey": KEY})
               if entry["result"] in ("delivered", "failed", "refused")}
    for task_id in acknowledged:
        if receiver.deliveries[task_id] == 0 and task_id not in journal:
            problems.append(f"{task_id}: callback lost (neither delivered nor recorded)")
    return problems


def run(seed: int, *, rounds: int) -> tuple[bool, list[str]]:
    rng = random.Random(seed)
    receiver = CountingReceiver()
    acknowledged: list[str] = []
    problems: list[str] = []
    integrity_failures = 0
    print(f"== kill: {rounds} x kill -9 under createTask load, restart on the same --db", flush=True)
    settings: dict[str, Any] = dict(api_keys=[KEY], speed=300.0, create_rate_limit="off", initial_balance=1e9)
    with workdir() as directory, ThreadedServer(receiver.app()) as hooks:
        scratch = Path(directory)
        db = scratch / "mock.db"
        latest: list[str] = []
        for number in range(rounds + 1):
            with mock_process(scratch, db=str(db), **settings) as mock:
                # After each restart, the tasks the last kill put at risk; after the last, all of them.
                found = verify(mock, acknowledged if number == rounds else latest, receiver)
                problems += [f"round {number}: {problem}" for problem in found]
                if number == rounds:
                    break
                kill_after = rng.uniform(0.2, 2.0)
                latest = load_until_killed(mock, f"{hooks.base_url}/hook", rng, kill_after)
                acknowledged += latest
            if (verdict := integrity(db)) != "ok":
                integrity_failures += 1
                problems.append(f"round {number}: integrity_check says {verdict}")
            print(f"   kill {number + 1}: after {kill_after:.2f} s, {len(acknowledged)} tasks acknowledged so far",
                  flush=True)
    for problem in problems[:10]:
        print("  ", problem, flush=True)
    duplicates = sum(1 for count in receiver.deliveries.values() if count > 1)
    lines = [f"{rounds} kills; {len(acknowledged)} acknowledged tasks, each checked after the restart "
             "that followed its kill and all again at the end",
             f"lost tasks, clock regressions or lost callbacks: {len(problems) - integrity_failures}; "
             f"integrity_check failures: {integrity_failures}",
             f"callbacks delivered: {sum(1 for t in acknowledged if receiver.deliveries[t])}/{len(acknowledged)} "
             f"(tasks delivered more than once, at-least-once after a kill mid-delivery: {duplicates})"]
    return not problems, lines
