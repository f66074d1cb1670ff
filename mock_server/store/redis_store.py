"""Redis: one state for replicas on several machines (`serve --store redis://HOST:PORT/DB`).

Every key starts with `apikley-mock:`. What must not interleave (a charge and its task, a
settlement and its refund and callbacks, a rate-limit bucket, a delivery claim) runs as one
Lua script (`redis_scripts`); callback deliveries are leased to one replica and taken over
when its lease runs out (it died).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import redis

from mock_server.sim.task import Task
from mock_server.store import redis_scripts as lua
from mock_server.store.base import (
    DELIVERIES_PER_KEY,
    DeliveryLog,
    NotEnoughCredits,
    RequestLog,
    StoreError,
)
from mock_server.store.journal import RequestsIn
from mock_server.store.redis_journal import RedisJournal
from mock_server.store.redis_queues import (
    BALANCES,
    CLAIMS,
    CLOCK,
    CONTROL,
    DELIVERY,
    DELIVERY_IDS,
    DUE,
    ENDS,
    MARKS,
    NUMBER,
    OWNERS,
    SETTLED,
    TASKS,
    USAGE,
    P,
    RedisQueues,
)
from mock_server.store.rows import row_task, task_row


class RedisTaskStore(RedisQueues):
    shared = True

    def __init__(self, url: str, *, journal_size: int = 1000) -> None:
        try:
            self._redis = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
            self._redis.ping()  # a wrong URL stops start-up here
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"store {url}: {exc}") from exc
        self._scripts = {name: self._redis.register_script(getattr(lua, name)) for name in
                         ("CREATE", "SETTLE", "CLAIM", "RELEASE", "POP_SCENARIO", "CLEAR_QUEUES", "TAKE_TOKEN",
                          "NEXT_NUMBER", "SAVE_CLOCK")}
        self.deliveries: DeliveryLog = RedisJournal(self._redis, P, "deliveries", DELIVERIES_PER_KEY)
        self.requests: RequestLog = RequestsIn(RedisJournal(self._redis, P, "requests", journal_size))

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int | None, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        while True:
            if name is not None:  # a number is never handed out twice, even if this create is refused
                task = task._replace(task_id=name(self.next_number(task.created_ms)))
            answer = self._run("CREATE", [TASKS, BALANCES, ENDS, P + "by-key:" + task.api_key, USAGE],
                               [task.task_id, json.dumps(task_row(task)), task.api_key, repr(task.credits),
                                repr(initial_balance), "" if end_ms is None else end_ms, task.created_ms,
                                len(task.param)])
            if answer[0] != "exists":
                break
            if name is None:
                raise KeyError(f"task {task.task_id} exists already")
        if answer[0] == "poor":
            raise NotEnoughCredits(float(answer[1]))
        return task

    def update(self, task: Task, *, end_ms: int | None) -> None:
        if not self._redis.hexists(TASKS, task.task_id):
            raise KeyError(task.task_id)
        pipe = self._redis.pipeline().hset(TASKS, task.task_id, json.dumps(task_row(task)))
        if end_ms is not None:
            pipe.zadd(ENDS, {task.task_id: end_ms})
        pipe.execute()

    def get(self, task_id: str) -> Task | None:
        row = self._redis.hget(TASKS, task_id)
        return row_task(json.loads(row)) if row else None

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        if api_key is None:
            rows = [json.loads(row) for row in self._redis.hvals(TASKS)]
            rows.sort(key=lambda row: row[7])  # created_ms
        else:
            ids = self._redis.zrange(P + "by-key:" + api_key, 0, -1)
            rows = [json.loads(row) for row in self._redis.hmget(TASKS, ids) if row] if ids else []
        return (row_task(row) for row in rows)

    def count(self) -> int:
        return int(self._redis.hlen(TASKS))

    def usage(self, api_key: str) -> tuple[int, int]:
        tasks, size = self._redis.hmget(USAGE, f"{api_key}:tasks", f"{api_key}:bytes")
        return int(tasks or 0), int(size or 0)

    def forget(self, task_ids: list[str]) -> None:
        gone = [task for task in (self.get(task_id) for task_id in task_ids) if task is not None]
        if not gone:
            return
        pipe = self._redis.pipeline()
        for task in gone:
            pipe.hdel(TASKS, task.task_id).srem(SETTLED, task.task_id).zrem(ENDS, task.task_id)
            pipe.delete(MARKS + task.task_id)
            pipe.zrem(P + "by-key:" + task.api_key, task.task_id)
            pipe.hincrby(USAGE, f"{task.api_key}:tasks", -1).hincrby(USAGE, f"{task.api_key}:bytes", -len(task.param))
        pipe.execute()

    def next_number(self, now_ms: int) -> int:
        return int(self._run("NEXT_NUMBER", [NUMBER], [now_ms]))

    # -- balances -----------------------------------------------------------------------------
    def balance(self, api_key: str) -> float | None:
        value = self._redis.hget(BALANCES, api_key)
        return float(value) if value is not None else None

    def set_balance(self, api_key: str, balance: float) -> None:
        self._redis.hset(BALANCES, api_key, repr(float(balance)))

    # -- settlement ---------------------------------------------------------------------------
    def due_ends(self, now_ms: int, limit: int) -> list[str]:
        return list(self._redis.zrangebyscore(ENDS, "-inf", now_ms, start=0, num=limit))

    def watch(self, task_id: str, end_ms: int) -> None:
        self._redis.zadd(ENDS, {task_id: end_ms})

    def unwatch(self, task_id: str) -> None:
        self._redis.zrem(ENDS, task_id)

    def settle(self, task_id: str, *, refund: float, initial_balance: float,
               deliveries: list[tuple[int, str]]) -> bool:
        pairs = [value for due, delivery in deliveries for value in (due, delivery)]
        return bool(self._run("SETTLE", [TASKS, SETTLED, ENDS, BALANCES, DUE, DELIVERY, DELIVERY_IDS],
                              [task_id, repr(refund), repr(initial_balance), *pairs]))

    def is_settled(self, task_id: str) -> bool:
        return bool(self._redis.sismember(SETTLED, task_id))

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        self.clear_queue(api_key)
        if api_key is None:
            self._delete_matching(P + "*", keep={CONTROL, NUMBER, CLOCK, OWNERS})
            return
        ids = self._redis.zrange(P + "by-key:" + api_key, 0, -1)
        pipe = self._redis.pipeline()
        if ids:
            pipe.hdel(TASKS, *ids).srem(SETTLED, *ids).zrem(ENDS, *ids).delete(*(MARKS + task_id for task_id in ids))
        pipe.delete(P + "by-key:" + api_key).hdel(BALANCES, api_key).hdel(USAGE, f"{api_key}:tasks", f"{api_key}:bytes")
        pipe.execute()
        doomed = [key for key, value in self._redis.hgetall(DELIVERY).items() if json.loads(value)[0] == api_key]
        if doomed:
            self._redis.pipeline().hdel(DELIVERY, *doomed).zrem(DUE, *doomed).hdel(CLAIMS, *doomed).execute()
        self.clear_buckets(api_key)
        self.deliveries.clear(api_key)
        self.requests.clear(api_key)

    def load_clock(self) -> int | None:
        value = self._redis.get(CLOCK)
        return int(value) if value else None

    def save_clock(self, now_ms: int) -> None:
        self._run("SAVE_CLOCK", [CLOCK], [now_ms])

    def close(self) -> None:
        self._redis.close()
