"""One suite for the three stores (memory, SQLite, Redis), and a restart on SQLite:
acknowledged tasks survive and their timelines go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.family.outputs import OutputSpec
from mock_server import Settings, ThreadedServer, create_app
from mock_server.sim.lifecycle import Outcome
from mock_server.store import MemoryTaskStore, SqliteTaskStore, Task, TaskStore
from mock_server.store.base import NotEnoughCredits
from tests.conftest import API_KEY, valid_body

VIDEO = OutputSpec("video", "mp4", 1280, 720, 5)


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    made: TaskStore
    if request.param == "memory":
        made = MemoryTaskStore(journal_size=5)
    elif request.param == "sqlite":
        made = SqliteTaskStore(tmp_path / "t.db", journal_size=5)
    else:
        from mock_server.store.redis_store import RedisTaskStore

        made = RedisTaskStore(request.getfixturevalue("redis_url"), journal_size=5)
    yield made
    made.close()


def task(number: int, api_key: str = "k", outcome: Outcome | None = None, credits: float = 20.0) -> Task:
    return Task(f"task_bytedance_{10**12 + number}", api_key, "m", '{"a": 1}', None,
                10**12 + number, "http://x", credits, outcome or Outcome(), VIDEO)


def create(store: TaskStore, made: Task, end_ms: int = 0) -> Task:
    return store.create(made, end_ms=end_ms, initial_balance=100.0)


def test_create_charges_and_stores_at_once(store: TaskStore) -> None:
    assert create(store, task(1)) == task(1) and store.balance("k") == 80.0
    assert create(store, task(2, "other")) == task(2, "other") and store.balance("other") == 80.0
    assert store.get(task(1).task_id) == task(1) and store.get("nope") is None
    with pytest.raises(KeyError):
        create(store, task(1))  # the id is taken: nothing charged
    with pytest.raises(NotEnoughCredits) as refused:
        create(store, task(3, credits=81.0))  # nothing charged, nothing stored
    assert refused.value.balance == 80.0 and store.balance("k") == 80.0 and store.get(task(3).task_id) is None
    changed = task(1, outcome=Outcome(state="fail", fail_code="501", callback="drop"))
    store.update(changed, end_ms=5)
    assert store.get(changed.task_id) == changed
    with pytest.raises(KeyError):
        store.update(task(9), end_ms=5)
    assert [t.task_id for t in store.tasks("k")] == [task(1).task_id]
    assert [t.task_id for t in store.tasks()] == [task(1).task_id, task(2).task_id]  # oldest first
    assert store.count() == 2
    store.set_balance("k", 12.5)
    assert store.balance("k") == 12.5 and store.balance("nobody") is None


def test_id_numbers_only_go_up(store: TaskStore) -> None:
    first = store.next_number(1000)
    assert first >= 1000
    assert store.next_number(1000) == first + 1  # many in one millisecond: ahead of the clock
    assert store.next_number(5000) == 5000
    named = store.create(task(9), end_ms=0, initial_balance=100.0, name=lambda number: f"task_{number}")
    assert named.task_id == f"task_{10**12 + 9}" and store.get(named.task_id) == named  # numbered in the same step
    create(store, task(9)._replace(task_id=f"task_{10**12 + 10}"))  # the next id is taken already (an old run's)
    again = store.create(task(9), end_ms=0, initial_balance=100.0, name=lambda number: f"task_{number}")
    assert again.task_id == f"task_{10**12 + 11}"  # moved on, nothing lost


def test_ends_are_settled_once_with_their_refund_and_callbacks(store: TaskStore) -> None:
    create(store, task(1), end_ms=10)
    create(store, task(2), end_ms=30)
    assert store.due_ends(5, 10) == []
    assert store.due_ends(20, 10) == [task(1).task_id]
    store.watch(task(1).task_id, 40)  # its real end is later
    assert store.due_ends(35, 10) == [task(2).task_id]
    assert store.settle(task(2).task_id, refund=20.0, initial_balance=100.0, deliveries=[(30, "d1"), (30, "d2")])
    assert not store.settle(task(2).task_id, refund=20.0, initial_balance=100.0, deliveries=[(30, "again")])
    assert store.is_settled(task(2).task_id) and not store.is_settled(task(1).task_id)
    assert store.balance("k") == 80.0  # charged twice, refunded once
    assert [(due, text) for due, text, _ in store.pending_deliveries()] == [(30, "d1"), (30, "d2")]
    assert store.due_ends(100, 10) == [task(1).task_id]
    store.unwatch(task(1).task_id)  # stuck: nothing to settle until its outcome changes
    assert store.due_ends(100, 10) == []


def test_deliveries_are_leased_and_taken_over_when_their_holder_dies(store: TaskStore) -> None:
    store.schedule_delivery("k", 10, "early")
    store.schedule_delivery("k", 20, "late")
    store.keep_alive("a", until_s=100.0)
    store.keep_alive("b", until_s=100.0)
    assert store.claim_deliveries(5, "a", 10, 50.0) == []  # none due yet
    claimed = store.claim_deliveries(15, "a", 10, 50.0)
    assert [text for _, text in claimed] == ["early"]
    assert store.claim_deliveries(15, "b", 10, 50.0) == []  # a holds it, and a is alive
    assert [owner for _, _, owner in store.pending_deliveries()] == ["a", None]
    store.finish_delivery(claimed[0][0], retry_at_ms=30, delivery="early, again")
    assert [text for _, text in store.claim_deliveries(25, "b", 10, 50.0)] == ["late"]
    held = store.claim_deliveries(30, "a", 10, 50.0)
    assert [text for _, text in held] == ["early, again"]
    if store.shared:  # a dies (its lease runs out at 100): b takes its delivery over
        store.keep_alive("b", until_s=200.0)
        taken = store.claim_deliveries(30, "b", 10, 101.0)
        assert [text for _, text in taken] == ["early, again"]
        store.finish_delivery(taken[0][0])
    else:
        store.finish_delivery(held[0][0])
    store.release_claims("b")  # b stops: what it held is due again, for anyone
    assert [text for _, text in store.claim_deliveries(30, "c", 10, 50.0)] == ["late"]
    store.release_claims()
    assert [(text, owner) for _, text, owner in store.pending_deliveries()] == [("late", None)]


def test_queued_scenarios_come_out_in_order_and_by_kind(store: TaskStore) -> None:
    store.push_scenarios("k", "createTask", "fail; stage=queuing", call=False, times=2)
    store.push_scenarios("k", "recordInfo", "server-error", call=True, times=1)
    assert store.control()["queued"] == "3"
    assert store.queued("k") == {"createTask": ["fail; stage=queuing"] * 2, "recordInfo": ["server-error"]}
    assert store.pop_scenario("k", "createTask", call=True) is None  # a task outcome waits for a task
    assert store.pop_scenario("other", "createTask", call=False) is None
    assert store.pop_scenario("k", "createTask", call=False) == "fail; stage=queuing"
    assert store.control()["queued"] == "2"
    store.clear_queue("k")
    assert store.queued("k") == {} and store.control()["queued"] == "0"


def test_rate_limit_buckets_refill_on_the_virtual_clock(store: TaskStore) -> None:
    answers = [store.take_token("k", "createTask", count=2, seconds=10, now_ms=1000) for _ in range(3)]
    assert answers[:2] == [None, None] and answers[2] == pytest.approx(5.0)
    assert store.take_token("other", "createTask", count=2, seconds=10, now_ms=1000) is None  # per key
    assert store.take_token("k", "createTask", count=2, seconds=10, now_ms=6000) is None  # one token back
    store.clear_buckets("k")
    assert store.take_token("k", "createTask", count=2, seconds=10, now_ms=6000) is None


def test_control_entries_change_atomically(store: TaskStore) -> None:
    assert store.change_control("clock", lambda old: (old or "") + "a") == "a"
    assert store.change_control("clock", lambda old: (old or "") + "b") == "ab"
    assert store.control()["clock"] == "ab"


def test_journals_are_bounded_and_clear_forgets_one_key(store: TaskStore) -> None:
    for number in range(8):
        store.requests.record("k", (number, "GET", "/p", "op", 200, 200, 1.0, "…", "", None, "{}"))
    assert [entry["at"] for entry in store.requests.entries("k")] == [3, 4, 5, 6, 7]
    older_row: Any = (8, "GET", "/p", "op", 200, 200, 1.0)  # journaled by a version without excerpts
    store.requests.record("k", older_row)
    assert store.requests.entries("k")[-1] == {"at": 8, "method": "GET", "path": "/p", "operationId": "op",
                                               "status": 200, "code": 200, "latencyMs": 1.0}
    store.deliveries.add("k", {"taskId": "t", "result": "delivered"})
    create(store, task(1), end_ms=5)
    create(store, task(2, "other"), end_ms=5)
    store.schedule_delivery("k", 5, "mine")
    store.schedule_delivery("other", 5, "theirs")
    store.push_scenarios("k", "createTask", "success", call=False, times=1)
    store.save_clock(5_000)
    store.clear("k")
    assert store.count() == 1 and store.balance("k") is None and store.balance("other") == 80.0
    assert store.deliveries.entries("k") == [] and store.requests.entries("k") == []
    assert [text for _, text, _ in store.pending_deliveries()] == ["theirs"]
    assert store.queued("k") == {} and store.due_ends(10, 10) == [task(2).task_id]
    store.clear()
    assert store.count() == 0 and store.pending_deliveries() == []


def test_sqlite_restart_keeps_tasks_and_their_timelines_go_on(tmp_path: Path) -> None:
    settings = Settings(api_keys=(API_KEY,), speed=0, epoch_ms=1_765_182_752_206, db=str(tmp_path / "mock.db"))
    auth = {"Authorization": f"Bearer {API_KEY}"}
    with ThreadedServer(create_app(settings)) as first:
        created = httpx.post(f"{first.base_url}/api/v1/jobs/createTask", json=valid_body(), headers=auth)
        task_id = created.json()["data"]["taskId"]
        httpx.post(f"{first.base_url}/__mock__/clock/advance", json={"seconds": 3})
        before = httpx.get(f"{first.base_url}/api/v1/jobs/recordInfo", params={"taskId": task_id},
                           headers=auth).json()["data"]
        balance = httpx.get(f"{first.base_url}/api/v1/chat/credit", headers=auth).json()["data"]
    assert before["state"] == "queuing"
    with ThreadedServer(create_app(settings)) as second:
        after = httpx.get(f"{second.base_url}/api/v1/jobs/recordInfo", params={"taskId": task_id},
                          headers=auth).json()["data"]
        assert after == before  # the clock resumed where the first run left it
        assert httpx.get(f"{second.base_url}/api/v1/chat/credit", headers=auth).json()["data"] == balance
        httpx.post(f"{second.base_url}/__mock__/clock/advance", json={"seconds": 600})
        final = httpx.get(f"{second.base_url}/api/v1/jobs/recordInfo", params={"taskId": task_id},
                          headers=auth).json()["data"]
        new_id = httpx.post(f"{second.base_url}/api/v1/jobs/createTask", json=valid_body(),
                            headers=auth).json()["data"]["taskId"]
    assert final["state"] == "success" and final["createTime"] == before["createTime"]
    assert new_id != task_id and int(new_id[15:]) > int(task_id[15:])


def test_sqlite_migrates_old_files(tmp_path: Path) -> None:
    import sqlite3

    old = tmp_path / "old.db"  # written before callback_done, output and end_ms existed
    with sqlite3.connect(old) as connection:
        connection.execute("CREATE TABLE tasks (task_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, model TEXT NOT NULL,"
                           " param TEXT NOT NULL, resolution TEXT NOT NULL, duration TEXT NOT NULL, callback_url TEXT,"
                           " created_ms INTEGER NOT NULL, origin TEXT NOT NULL, credits REAL NOT NULL,"
                           " outcome TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0)")
        connection.execute("INSERT INTO tasks VALUES ('task_bytedance_7', 'k', 'm', '{}', '720p', '5', "
                           "'http://127.0.0.1:9/hook', 5, 'http://x', 20.0, '{}', 0)")
    migrated = SqliteTaskStore(old)
    assert migrated.count() == 1 and migrated.get("task_bytedance_7") is not None
    assert migrated.load_clock() == 5  # never before the newest stored task
    assert migrated.due_ends(5, 10) == ["task_bytedance_7"]  # its end is looked at again
    assert migrated.next_number(0) == 8  # above every stored id
    migrated.close()


def test_sqlite_fsyncs_a_named_file_but_not_the_workers_temporary_one(tmp_path: Path) -> None:
    from mock_server.services.assembly import open_store
    from mock_server.settings import load_settings
    from mock_server.workers import shared_settings

    def synchronous(settings: Settings) -> int:  # SQLite's per-connection setting: 1 NORMAL, 0 OFF
        store = open_store(settings)
        try:
            return int(store._db.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[attr-defined]
        finally:
            store.close()

    named = load_settings({"db": str(tmp_path / "named.db")}, env={})
    assert synchronous(named) == 1
    assert synchronous(load_settings({"db": str(tmp_path / "fast.db")}, env={"APIKLEY_MOCK_DB_DURABLE": "off"})) == 0
    with shared_settings(named.replace(workers=2)) as kept:
        assert synchronous(kept) == 1 and kept.db == named.db
    with shared_settings(Settings(workers=2)) as scratch:  # deleted at exit: no fsync
        assert synchronous(scratch) == 0 and scratch.db is not None
