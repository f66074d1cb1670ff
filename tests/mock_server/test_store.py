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
