"""One suite for both stores, and a restart on SQLite: acknowledged tasks survive and their
timelines go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server import Settings, ThreadedServer, create_app
from mock_server.sim.lifecycle import Outcome
from mock_server.store import MemoryTaskStore, SqliteTaskStore, Task, TaskStore
from tests.conftest import API_KEY, valid_body


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    made: TaskStore = MemoryTaskStore() if request.param == "memory" else SqliteTaskStore(tmp_path / "t.db")
    yield made
    made.close()


def task(number: int, api_key: str = "k", outcome: Outcome | None = None) -> Task:
    return Task(f"task_bytedance_{10**12 + number}", api_key, "m", '{"a": 1}', "720p", "5", None,
                10**12 + number, "http://x", 20.0, outcome or Outcome())


def test_add_get_update_and_list(store: TaskStore) -> None:
    store.add(task(1))
    store.add(task(2, "other"))
    assert store.get(task(1).task_id) == task(1)
    assert store.get("nope") is None
    with pytest.raises(KeyError):
        store.add(task(1))
    changed = task(1, outcome=Outcome(state="fail", fail_code="501", callback="drop"))
    store.update(changed)
    assert store.get(changed.task_id) == changed
    assert [t.task_id for t in store.tasks("k")] == [task(1).task_id]
    assert store.count() == 2 and store.last_id_number() == 10**12 + 2


def test_balances_settlement_clear_and_clock(store: TaskStore) -> None:
    assert store.balance("k") is None
    store.set_balance("k", 12.5)
    store.set_balance("k", 10.0)
    assert store.balance("k") == 10.0
    store.add(task(1))
    store.add(task(2))
    store.mark_settled(task(1).task_id)
    assert store.is_settled(task(1).task_id) and not store.is_settled(task(2).task_id)
    assert [t.task_id for t in store.unsettled()] == [task(2).task_id]
    store.deliveries.add("k", {"taskId": task(1).task_id, "result": "delivered"})
    assert store.deliveries.entries("k")[0]["result"] == "delivered"
    store.save_clock(5_000)
    store.clear("k")
    assert store.count() == 0 and store.balance("k") is None and store.deliveries.entries("k") == []


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


def test_sqlite_tracks_callbacks_to_their_end_and_migrates_old_files(tmp_path: Path) -> None:
    with_callback = task(1)._replace(callback_url="http://127.0.0.1:9/hook")
    store = SqliteTaskStore(tmp_path / "new.db")
    store.add(with_callback)
    store.add(task(2))  # no callBackUrl: never outstanding
    assert list(store.callbacks_outstanding()) == []  # not settled yet
    store.mark_settled(with_callback.task_id)
    store.mark_settled(task(2).task_id)
    assert [t.task_id for t in store.callbacks_outstanding()] == [with_callback.task_id]
    store.mark_callback_done(with_callback.task_id)
    assert list(store.callbacks_outstanding()) == []
    store.close()

    import sqlite3

    old = tmp_path / "old.db"  # written before callback_done existed: its settled tasks are not resent
    with sqlite3.connect(old) as connection:
        connection.execute("CREATE TABLE tasks (task_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, model TEXT NOT NULL,"
                           " param TEXT NOT NULL, resolution TEXT NOT NULL, duration TEXT NOT NULL, callback_url TEXT,"
                           " created_ms INTEGER NOT NULL, origin TEXT NOT NULL, credits REAL NOT NULL,"
                           " outcome TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0)")
        connection.execute("INSERT INTO tasks VALUES ('task_bytedance_1', 'k', 'm', '{}', '720p', '5', "
                           "'http://127.0.0.1:9/hook', 5, 'http://x', 20.0, '{}', 1)")
    migrated = SqliteTaskStore(old)
    assert list(migrated.callbacks_outstanding()) == [] and migrated.count() == 1
    assert migrated.load_clock() == 5  # never before the newest stored task
    migrated.close()
