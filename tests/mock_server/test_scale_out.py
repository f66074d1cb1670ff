"""Scale-out, through the real CLI: `serve --workers 2` (one port, SQLite WAL) and two
replicas on one Redis (`serve --store redis://...`, two ports) act as one mock.

A client alternates between processes: for replicas by port; for workers over connections
held open on each worker, found by opening fresh connections together (workers share one
listening socket, and the one that just answered takes most sequential connections) and
asking `/__mock__/health` on each which process holds it. The virtual clock is frozen, so
every process tells the same instant.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import ThreadedServer
from mock_server.testing import MockProcess
from tests.conftest import API_KEY, EPOCH_MS, valid_body

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CREATE, DETAILS = "/api/v1/jobs/createTask", "/api/v1/jobs/recordInfo"
START_SECONDS = 60


@dataclass
class Cluster:
    """Processes serving one state; `connection()` is a client on one of them, by turns."""

    processes: list[MockProcess]
    turns: Iterator[int] = field(default_factory=lambda: itertools.count())

    def connection(self) -> httpx.Client:
        process = self.processes[next(self.turns) % len(self.processes)]
        return httpx.Client(base_url=process.base_url, headers=AUTH, timeout=30)

    @contextlib.contextmanager
    def pinned(self) -> Iterator[list[httpx.Client]]:
        """One open connection on each process (a one-connection pool keeps it)."""
        def open_one(url: str) -> tuple[httpx.Client, str]:
            client = httpx.Client(base_url=url, headers=AUTH, timeout=30, limits=httpx.Limits(max_connections=1))
            return client, self.who(client)

        held: dict[str, httpx.Client] = {}
        with contextlib.ExitStack() as close:
            for _ in range(25):  # batches of connections opened at once reach both workers
                urls = [process.base_url for process in self.processes] * (1 if len(self.processes) > 1 else 8)
                with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
                    for client, name in pool.map(open_one, urls):
                        close.callback(client.close)
                        held.setdefault(name, client)
                if len(held) >= 2:
                    break
            assert len(held) == 2, f"only {list(held)} answered"
            yield list(held.values())

    def who(self, client: httpx.Client) -> str:
        """The process holding this connection."""
        return str(client.get("/__mock__/health").json()["data"]["process"])

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.connection() as client:
            answer = client.request(method, f"/__mock__{path}", **kwargs)
            assert answer.status_code == 200, answer.text
            return answer.json()["data"]


def serve(*flags: str) -> MockProcess:
    return MockProcess("--port", "0", "--speed", "0", "--epoch-ms", str(EPOCH_MS), "--api-key", API_KEY,
                       "--log-level", "warning", "--lease-seconds", "1", *flags)


@pytest.fixture(params=["workers", pytest.param("replicas", marks=pytest.mark.redis)])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    with contextlib.ExitStack() as started:
        if request.param == "workers":
            workers = serve("--workers", "2", "--db", str(tmp_path / "state.db"))
            started.callback(workers.stop)
            yield Cluster([workers.start(processes=2, timeout=START_SECONDS)])
        else:
            store = request.getfixturevalue("redis_url")
            replicas = [started.enter_context(serve("--store", store)) for _ in range(2)]
            yield Cluster(replicas)


def by_process(cluster: Cluster, ask: Any) -> dict[str, list[Any]]:
    """`ask(client)` twice on each process, by turns."""
    answers: dict[str, list[Any]] = collections.defaultdict(list)
    with cluster.pinned() as clients:
        for client in clients * 2:
            answers[cluster.who(client)].append(ask(client))
    assert len(answers) == 2 and all(len(found) == 2 for found in answers.values()), answers
    return answers


def test_a_task_created_on_one_process_is_found_on_the_others_at_the_same_instant(cluster: Cluster) -> None:
    cluster.control("PUT", "/toggles", json={"rateLimits": False})  # polled often from one key
    with cluster.connection() as client:
        task_id = client.post(CREATE, json=valid_body()).json()["data"]["taskId"]
    cluster.control("POST", "/clock/advance", json={"seconds": 12})  # on whichever process
    answers = by_process(cluster, lambda client: (
        client.get(DETAILS, params={"taskId": task_id}).json()["data"],
        client.get("/__mock__/clock").json()["data"]["now"],
        [view["record"]["taskId"] for view in client.get("/__mock__/tasks").json()["data"]]))
    everything = [answer for found in answers.values() for answer in found]
    assert all(answer == everything[0] for answer in everything), everything  # same record, instant, list
    record, now, listed = everything[0]
    assert now == EPOCH_MS + 12_000 and record["state"] != "waiting" and listed == [task_id]


def test_the_create_rate_limit_holds_across_every_process(cluster: Cluster) -> None:
    codes: dict[str, list[int]] = collections.defaultdict(list)
    with cluster.pinned() as clients:
        for client in clients * 15:  # 20 per 10 s per key, upstream's limit
            codes[cluster.who(client)].append(client.post(CREATE, json=valid_body()).status_code)
    every = [code for found in codes.values() for code in found]
    assert every.count(200) == 20 and every.count(429) == 10
    assert len(codes) == 2 and all(429 in found for found in codes.values())  # one bucket for all
    cluster.control("POST", "/clock/advance", json={"seconds": 10})
    with cluster.connection() as client:
        assert client.post(CREATE, json=valid_body()).status_code == 200  # the bucket refilled


def test_balances_never_lose_a_charge_or_refund_under_200_concurrent_creates(cluster: Cluster) -> None:
    cluster.control("PUT", "/toggles", json={"rateLimits": False})
    cluster.control("PUT", f"/keys/{API_KEY}/balance", json={"balance": 3000})  # 150 tasks at 20 credits
    failing = {"prompt": "a cup [mock:fail stage=generating]", "image_url": "https://example.com/cup.png"}

    def create(number: int) -> tuple[int, bool]:
        body = valid_body(**failing) if number % 2 else valid_body()
        with cluster.connection() as client:
            return client.post(CREATE, json=body).json()["code"], bool(number % 2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(create, range(200)))
    accepted = [fails for code, fails in results if code == 200]
    assert len(accepted) == 150 and [code for code, _ in results].count(402) == 50
    assert cluster.control("GET", f"/keys/{API_KEY}/balance")["balance"] == 0  # never below
    cluster.control("POST", "/clock/advance", json={"seconds": 3600})  # every task ends; fails are refunded
    balances = by_process(cluster, lambda client: client.get(f"/__mock__/keys/{API_KEY}/balance").json())
    refunded = 20 * sum(accepted)
    assert {answer["data"]["balance"] for found in balances.values() for answer in found} == {refunded}


class Receiver:
    """Counts callbacks by task; holds every request while `hold` is set."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.kinds: dict[str, list[str | None]] = collections.defaultdict(list)
        self.hold = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def app(self) -> Any:
        import asyncio

        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def hook(request: Request) -> JSONResponse:
            body = await request.json()
            if self.hold.is_set():
                await asyncio.to_thread(self.release.wait, 30)
            data = body.get("data") or {}
            with self.lock:  # the market's callbacks name `data.taskId`, Suno's `data.task_id`
                task_id = str(data.get("taskId") or data.get("task_id"))
                self.counts[task_id] += 1
                self.kinds[task_id].append(data.get("callbackType"))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def test_each_callback_is_delivered_exactly_once(cluster: Cluster) -> None:
    receiver = Receiver()
    receiver.hold.set()  # deliveries hang until both processes hold some: they contend for all of them
    cluster.control("PUT", "/toggles", json={"rateLimits": False})
    with ThreadedServer(receiver.app()) as hooks:
        body = {**valid_body(), "callBackUrl": f"{hooks.base_url}/hook"}
        created = []
        for _ in range(24):  # more than one process sends at once (16)
            with cluster.connection() as client:
                created.append(client.post(CREATE, json=body).json()["data"]["taskId"])
        cluster.control("POST", "/clock/advance", json={"seconds": 3600})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            holders = {item["claimedBy"] for item in cluster.control("GET", "/callbacks/pending")} - {None}
            if len(holders) == 2:
                break
            time.sleep(0.02)  # the processes' own tickers claim (wall time)
        assert len(holders) == 2
        receiver.hold.clear()
        receiver.release.set()
        flushed = cluster.control("POST", "/callbacks/flush")  # waits for every process's deliveries
        assert flushed["pending"] == []
        assert receiver.counts == {task_id: 1 for task_id in created}
        journal = cluster.control("GET", "/callbacks")
    assert sorted(entry["taskId"] for entry in journal) == sorted(created)  # one attempt each
    assert {entry["by"] for entry in journal} == holders


def test_each_suno_stage_callback_is_sent_once_by_whichever_process_sees_its_stage(cluster: Cluster) -> None:
    receiver = Receiver()
    cluster.control("PUT", "/toggles", json={"rateLimits": False})
    with ThreadedServer(receiver.app()) as hooks:
        body = {"prompt": "piano", "customMode": False, "instrumental": True, "model": "V4_5",
                "callBackUrl": f"{hooks.base_url}/hook"}
        with cluster.pinned() as clients:
            created = [client.post("/api/v1/generate", json=body).json()["data"]["taskId"] for client in clients * 4]
            for _ in range(30):  # 30 steps of 5 virtual seconds: through every stage; bounded
                cluster.control("POST", "/clock/advance", json={"seconds": 5})
                for client in clients:  # each process settles what it sees due
                    assert client.get("/api/v1/chat/credit").json()["code"] == 200
                cluster.control("POST", "/callbacks/flush")
        cluster.control("POST", "/clock/advance", json={"seconds": 3600})
        assert cluster.control("POST", "/callbacks/flush")["pending"] == []
    assert dict(receiver.kinds) == {task_id: ["text", "first", "complete"] for task_id in created}


@pytest.mark.redis
def test_a_replica_killed_with_kill_9_loses_no_task_and_another_sends_its_callbacks(redis_url: str) -> None:
    receiver = Receiver()
    receiver.hold.set()
    with serve("--store", redis_url) as doomed_process, serve("--store", redis_url) as survivor_process:
        urls = [doomed_process.base_url, survivor_process.base_url]
        doomed, survivor = (httpx.Client(base_url=url, headers=AUTH, timeout=30) for url in urls)
        doomed_name, survivor_name = (client.get("/__mock__/health").json()["data"]["process"]
                                      for client in (doomed, survivor))
        doomed.put("/__mock__/toggles", json={"rateLimits": False})
        with ThreadedServer(receiver.app()) as hooks:
            body = {**valid_body(), "callBackUrl": f"{hooks.base_url}/hook"}
            created = [doomed.post(CREATE, json=body).json()["data"]["taskId"] for _ in range(40)]
            records = {task_id: doomed.get(DETAILS, params={"taskId": task_id}).json()["data"]
                       for task_id in created}
            doomed.post("/__mock__/clock/advance", json={"seconds": 3600})
            held: list[str] = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until both replicas hold deliveries in flight
                pending = survivor.get("/__mock__/callbacks/pending").json()["data"]
                held = [item["taskId"] for item in pending if item["claimedBy"] == doomed_name]
                if held and any(item["claimedBy"] == survivor_name for item in pending):
                    break
                time.sleep(0.05)  # the replicas' own tickers claim them (wall time)
            assert held, "the doomed replica never claimed a delivery"
            doomed_process.kill9()
            receiver.hold.clear()
            receiver.release.set()
            delivered_by: dict[str, str] = {}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and set(delivered_by) != set(created):
                time.sleep(0.05)  # its lease (1 s) runs out, then the survivor takes over
                delivered_by = {entry["taskId"]: entry["by"] for entry in
                                survivor.get("/__mock__/callbacks").json()["data"] if entry["result"] == "delivered"}
            assert set(delivered_by) == set(created) and set(receiver.counts) == set(created)
        assert all(delivered_by[task_id] == survivor_name for task_id in held)
        for task_id, record in records.items():  # every acknowledged task, as it was
            found = survivor.get(DETAILS, params={"taskId": task_id}).json()["data"]
            assert found["taskId"] == task_id and found["createTime"] == record["createTime"]
            assert found["param"] == record["param"]

