"""Figure 2: a 60 s soak of steady mixed load with a callback receiver that fails 30% of
deliveries, then every acknowledged task, callback and journal is checked, and RSS growth."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.faults.common import (
    auth,
    control,
    count_tracebacks,
    create_body,
    mock_process,
    settle_everything,
    tiny_png,
    workdir,
)
from bench.harness import free_port
from contracts.run.serving import ThreadedServer
from contracts.spec.names import CREATE_TASK_PATH, CREDIT_PATH, DOWNLOAD_URL_PATH, TASK_DETAILS_PATH
from mock_server.testing import MockProcess

KEYS = [f"soak-key-{number}" for number in range(4)]
CREATES_PER_SECOND = 8.0
JOURNAL_SIZE = 1000
MAX_ATTEMPTS = 3


class FlakyReceiver:
    """Fails 30% of attempts: a third HTTP 500, a third answers after 16 s (past the mock's
    15 s timeout); a tenth of the tasks get a callBackUrl where nothing listens (refused).
    Duplicates are answered 200 and not counted twice."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.delivered: set[str] = set()
        self.answers: Counter[str] = Counter()

    async def hook(self, request: Request) -> JSONResponse:
        payload = await request.json()
        task_id = str((payload.get("data") or {}).get("taskId"))
        roll = self.rng.random()
        if roll < 0.1:
            self.answers["500"] += 1
            return JSONResponse({"ok": False}, status_code=500)
        if roll < 0.2:
            self.answers["slow"] += 1
            await asyncio.sleep(16)
            return JSONResponse({"ok": True})
        self.answers["duplicate" if task_id in self.delivered else "200"] += 1
        self.delivered.add(task_id)
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


async def drive(mock: MockProcess, receiver_url: str, seconds: float, rng: random.Random,
                acknowledged: dict[str, dict[str, Any]], counts: Counter[str]) -> float:
    """Steady load for `seconds`; returns RSS (MiB) after the first tenth (the warm baseline)."""
    refused_url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    png = tiny_png()
    baseline = 0.0
    async with httpx.AsyncClient(base_url=mock.base_url, timeout=30) as client:
        pollers: set[asyncio.Task[None]] = set()

        async def poll(task_id: str, key: str) -> None:
            # Upstream's polling schedule, wall seconds: first after 2-3 s, then every 5-10 s.
            delays = [rng.uniform(2, 3)] + [rng.uniform(5, 10) for _ in range(20)]
            for delay in delays:
                await asyncio.sleep(delay)
                record = (await client.get(TASK_DETAILS_PATH, params={"taskId": task_id}, headers=auth(key))).json()
                counts[f"recordInfo {record['code']}"] += 1
                if record["code"] == 200 and record["data"]["state"] in ("success", "fail"):
                    if record["data"]["state"] == "success" and rng.random() < 0.3:
                        url = json.loads(record["data"]["resultJson"])["resultUrls"][0]
                        link = (await client.post(DOWNLOAD_URL_PATH, json={"url": url}, headers=auth(key))).json()
                        counts[f"download-url {link['code']}"] += 1
                    return

        started = time.monotonic()
        tick = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if not baseline and elapsed > seconds / 10:
                baseline = mock.rss_mib()
            key = KEYS[tick % len(KEYS)]
            target = refused_url if rng.random() < 0.1 else receiver_url
            body = create_body(rng, target)
            answer = (await client.post(CREATE_TASK_PATH, json=body, headers=auth(key))).json()
            counts[f"createTask {answer['code']}"] += 1
            if answer["code"] == 200:
                task_id = answer["data"]["taskId"]
                acknowledged[task_id] = {"key": key, "body": body}
                poller = asyncio.create_task(poll(task_id, key))
                pollers.add(poller)
                poller.add_done_callback(pollers.discard)
            if tick % 8 == 0:
                upload = (await client.post("/api/file-base64-upload", headers=auth(key), json={
                    "base64Data": png, "uploadPath": f"soak/{tick % 50}", "fileName": "cup.png"})).json()
                counts[f"upload {upload['code']}"] += 1
                counts[f"credit {(await client.get(CREDIT_PATH, headers=auth(key))).json()['code']}"] += 1
            tick += 1
            await asyncio.sleep(max(0.0, started + tick / CREATES_PER_SECOND - time.monotonic()))
        await asyncio.gather(*pollers, return_exceptions=True)
    return baseline


def check(mock: MockProcess, acknowledged: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    control(mock, "PUT", "/toggles", json={"rateLimits": False})
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key in KEYS:
        for entry in control(mock, "GET", "/callbacks", params={"apiKey": key}):
            by_key[entry["taskId"]].append(entry)
        requests = control(mock, "GET", "/requests", params={"apiKey": key})
        if len(requests) > JOURNAL_SIZE:
            problems.append(f"request journal of {key}: {len(requests)} entries > {JOURNAL_SIZE}")
    client = httpx.Client(base_url=mock.base_url, timeout=30)
    for task_id, sent in acknowledged.items():
        answer = client.get(TASK_DETAILS_PATH, params={"taskId": task_id}, headers=auth(sent["key"])).json()
        record = answer.get("data") or {}
        if answer["code"] != 200 or record.get("state") not in ("success", "fail"):
            problems.append(f"{task_id}: not terminal ({answer})")
            continue
        if json.loads(record["param"]) != sent["body"]:
            problems.append(f"{task_id}: param differs from the body sent")
        if (record["state"] == "success") != (record["resultJson"] is not None):
            problems.append(f"{task_id}: resultJson inconsistent with {record['state']}")
        attempts = by_key.get(task_id, [])
        final = [entry for entry in attempts if entry["result"] in ("delivered", "failed")]
        if not final:
            problems.append(f"{task_id}: callback neither delivered nor exhausted ({attempts})")
        elif final[0]["result"] == "failed" and final[0]["attempt"] != MAX_ATTEMPTS:
            problems.append(f"{task_id}: gave up after {final[0]['attempt']} attempts")
    client.close()
    return problems


def run(seed: int, *, seconds: float) -> tuple[bool, list[str]]:
    rng = random.Random(seed)
    receiver = FlakyReceiver(seed)
    acknowledged: dict[str, dict[str, Any]] = {}
    counts: Counter[str] = Counter()
    print(f"== soak: {seconds:g} s of mixed load, 30% of callbacks failing", flush=True)
    with workdir() as directory, ThreadedServer(receiver.app()) as hooks, \
            mock_process(Path(directory), api_keys=KEYS, speed=30.0, journal_size=JOURNAL_SIZE,
                         callback_max_attempts=MAX_ATTEMPTS, callback_backoff_seconds=5.0,
                         webhook_hmac_key="soak-hmac", initial_balance=1e9) as mock:
        baseline = asyncio.run(drive(mock, f"{hooks.base_url}/hook", seconds, rng, acknowledged, counts))
        pending = settle_everything(mock)
        final_rss = mock.rss_mib()
        problems = check(mock, acknowledged)
        tracebacks = count_tracebacks(mock)
        deliveries = Counter(entry["result"] for key in KEYS
                             for entry in control(mock, "GET", "/callbacks", params={"apiKey": key}))
    growth = final_rss / baseline - 1 if baseline else float("inf")
    for problem in problems[:10]:
        print("  ", problem, flush=True)
    lines = [f"{len(acknowledged)} tasks acknowledged in {seconds:g} s; answers: "
             + ", ".join(f"{name} x{count}" for name, count in sorted(counts.items())),
             "callback attempts: " + ", ".join(f"{name} {count}" for name, count in sorted(deliveries.items()))
             + "; receiver answered: "
             + ", ".join(f"{name} {count}" for name, count in sorted(receiver.answers.items())),
             f"inconsistent tasks or lost callbacks: {len(problems)}; still pending: {len(pending)}; "
             f"tracebacks: {tracebacks}",
             f"RSS {baseline:.1f} MiB after warm-up -> {final_rss:.1f} MiB at the end ({growth:+.1%}; limit +20%)"]
    ok = not problems and not pending and tracebacks == 0 and growth < 0.20 and counts["createTask 200"] > 0
    return ok, lines
