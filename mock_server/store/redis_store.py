"""Redis: one state for replicas on several machines (`serve --store redis://HOST:PORT/DB`).

Every key starts with `apikley-mock:`. What must not interleave (a charge and its task, a
settlement and its refund and callbacks, a rate-limit bucket, a delivery claim) runs as one
Lua script (`redis_scripts`); callback deliveries are leased to one replica and taken over
when its lease runs out (it died).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import redis

from mock_server.sim.task import Task
from mock_server.store import redis_scripts as lua
from mock_server.store.base import (
    DELIVERIES_PER_KEY,
    DeliveryClaim,
    DeliveryLog,
    NotEnoughCredits,
    PendingDelivery,
    RequestLog,
    StoreError,
)
from mock_server.store.journal import RequestsIn
from mock_server.store.redis_journal import RedisJournal
from mock_server.store.rows import row_task, task_row

P = "apikley-mock:"
TASKS, SETTLED, ENDS, BALANCES = P + "tasks", P + "settled", P + "ends", P + "balances"
DUE, CLAIMS, OWNERS, DELIVERY, DELIVERY_IDS = P + "due", P + "claims", P + "owners", P + "delivery", P + "delivery-ids"
CONTROL, NUMBER, CLOCK, QUEUE_KEYS = P + "control", P + "id-number", P + "clock-ms", P + "queue-keys"


class RedisTaskStore:
    shared = True

    def __init__(self, url: str, *, journal_size: int = 1000) -> None:
        # Any: redis-py's annotations cannot tell decoded answers (str) from bytes, nor a pipeline's chain.
        try:
            self._redis: Any = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
            self._redis.ping()  # a wrong URL stops start-up here
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"store {url}: {exc}") from exc
        self._scripts = {name: self._redis.register_script(getattr(lua, name)) for name in
                         ("CREATE", "SETTLE", "CLAIM", "RELEASE", "POP_SCENARIO", "CLEAR_QUEUES", "TAKE_TOKEN",
                          "NEXT_NUMBER", "SAVE_CLOCK")}
        self.deliveries: DeliveryLog = RedisJournal(self._redis, P, "deliveries", DELIVERIES_PER_KEY)
        self.requests: RequestLog = RequestsIn(RedisJournal(self._redis, P, "requests", journal_size))

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[script](keys=keys, args=args)

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int | None, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        while True:
            if name is not None:  # a number is never handed out twice, even if this create is refused
                task = task._replace(task_id=name(self.next_number(task.created_ms)))
            answer = self._run("CREATE", [TASKS, BALANCES, ENDS, P + "by-key:" + task.api_key],
                               [task.task_id, json.dumps(task_row(task)), task.api_key, repr(task.credits),
                                repr(initial_balance), "" if end_ms is None else end_ms, task.created_ms])
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

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None:
        delivery_id = self._redis.incr(DELIVERY_IDS)
        self._redis.pipeline().hset(DELIVERY, str(delivery_id), json.dumps([api_key, delivery, due_ms])).zadd(
            DUE, {str(delivery_id): due_ms}).execute()

    def claim_deliveries(self, now_ms: int, owner: str, limit: int, wall_s: float) -> list[DeliveryClaim]:
        out = self._run("CLAIM", [DUE, CLAIMS, OWNERS, DELIVERY], [now_ms, owner, limit, repr(wall_s)])
        return [(out[i], json.loads(out[i + 1])[1]) for i in range(0, len(out), 2) if out[i + 1]]

    def finish_delivery(self, delivery_id: str, *, retry_at_ms: int | None = None,
                        delivery: str | None = None) -> None:
        if retry_at_ms is None:
            self._redis.pipeline().hdel(CLAIMS, delivery_id).hdel(DELIVERY, delivery_id).zrem(
                DUE, delivery_id).execute()
            return
        held = self._redis.hget(DELIVERY, delivery_id)
        if held is None:
            return  # cleared meanwhile
        api_key, old, _ = json.loads(held)
        self._redis.pipeline().hset(DELIVERY, delivery_id, json.dumps([api_key, delivery or old, retry_at_ms])).zadd(
            DUE, {delivery_id: retry_at_ms}).hdel(CLAIMS, delivery_id).execute()

    def pending_deliveries(self) -> list[PendingDelivery]:
        claims = self._redis.hgetall(CLAIMS)
        held = [(json.loads(value), claims.get(key)) for key, value in self._redis.hgetall(DELIVERY).items()]
        return sorted(((int(entry[2]), entry[1], owner) for entry, owner in held), key=lambda item: item[0])

    def keep_alive(self, owner: str, until_s: float) -> None:
        self._redis.hset(OWNERS, owner, repr(until_s))

    def release_claims(self, owner: str | None = None) -> None:
        self._run("RELEASE", [DUE, CLAIMS, OWNERS, DELIVERY], [owner or ""])

    # -- queued scenarios ---------------------------------------------------------------------
    def push_scenarios(self, api_key: str, operation: str, scenario: str, *, call: bool, times: int) -> None:
        name = P + "queue:" + api_key + ":" + operation
        pipe = self._redis.pipeline()  # MULTI: the count and the queue change together
        pipe.rpush(name, *[f"{int(call)}|{scenario}"] * times).sadd(P + "queues:" + api_key, name)
        pipe.sadd(QUEUE_KEYS, api_key).hincrby(CONTROL, "queued", times).execute()

    def pop_scenario(self, api_key: str, operation: str, *, call: bool) -> str | None:
        popped = self._run("POP_SCENARIO", [P + "queue:" + api_key + ":" + operation, CONTROL], [str(int(call))])
        return str(popped) if popped else None

    def queued(self, api_key: str) -> dict[str, list[str]]:
        queued = {}
        for name in sorted(self._redis.smembers(P + "queues:" + api_key)):
            if entries := self._redis.lrange(name, 0, -1):
                queued[name.rsplit(":", 1)[1]] = [entry[2:] for entry in entries]
        return queued

    def clear_queue(self, api_key: str | None = None) -> None:
        for key in [api_key] if api_key is not None else list(self._redis.smembers(QUEUE_KEYS)):
            self._run("CLEAR_QUEUES", [P + "queues:" + key, CONTROL], [])

    # -- rate limits --------------------------------------------------------------------------
    def take_token(self, api_key: str, operation: str, *, count: int, seconds: float, now_ms: int) -> float | None:
        wait = self._run("TAKE_TOKEN", [P + "bucket:" + api_key], [operation, count, repr(seconds), now_ms])
        return float(wait) if wait else None

    def clear_buckets(self, api_key: str | None = None) -> None:
        self._delete_matching(P + "bucket:" + (api_key if api_key is not None else "*"))

    # -- control entries ----------------------------------------------------------------------
    def control(self) -> dict[str, str]:
        return dict(self._redis.hgetall(CONTROL))

    def change_control(self, name: str, change: Callable[[str | None], str]) -> str:
        def apply(pipe: Any) -> str:
            value = change(pipe.hget(CONTROL, name))
            pipe.multi()
            pipe.hset(CONTROL, name, value)
            return value

        return str(self._redis.transaction(apply, CONTROL, value_from_callable=True))

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        self.clear_queue(api_key)
        if api_key is None:
            self._delete_matching(P + "*", keep={CONTROL, NUMBER, CLOCK, OWNERS})
            return
        ids = self._redis.zrange(P + "by-key:" + api_key, 0, -1)
        pipe = self._redis.pipeline()
        if ids:
            pipe.hdel(TASKS, *ids).srem(SETTLED, *ids).zrem(ENDS, *ids)
        pipe.delete(P + "by-key:" + api_key).hdel(BALANCES, api_key).execute()
        doomed = [key for key, value in self._redis.hgetall(DELIVERY).items() if json.loads(value)[0] == api_key]
        if doomed:
            self._redis.pipeline().hdel(DELIVERY, *doomed).zrem(DUE, *doomed).hdel(CLAIMS, *doomed).execute()
        self.clear_buckets(api_key)
        self.deliveries.clear(api_key)
        self.requests.clear(api_key)

    def _delete_matching(self, pattern: str, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        doomed = [key for key in self._redis.scan_iter(match=pattern, count=1000) if key not in keep]
        for start in range(0, len(doomed), 500):
            self._redis.delete(*doomed[start:start + 500])

    def load_clock(self) -> int | None:
        value = self._redis.get(CLOCK)
        return int(value) if value else None

    def save_clock(self, now_ms: int) -> None:
        self._run("SAVE_CLOCK", [CLOCK], [now_ms])

    def close(self) -> None:
        self._redis.close()
