"""The Redis store's queues: callback deliveries (a sorted set by due time, claimed with
leases in Lua), queued scenarios, rate-limit buckets and the control entries. Every key
starts with `apikley-mock:` (its names are here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mock_server.store.base import DeliveryClaim, PendingDelivery

P = "apikley-mock:"
TASKS, SETTLED, ENDS, BALANCES = P + "tasks", P + "settled", P + "ends", P + "balances"
DUE, CLAIMS, OWNERS, DELIVERY, DELIVERY_IDS = P + "due", P + "claims", P + "owners", P + "delivery", P + "delivery-ids"
CONTROL, NUMBER, CLOCK, QUEUE_KEYS = P + "control", P + "id-number", P + "clock-ms", P + "queue-keys"
USAGE = P + "usage"  # "<key>:tasks" and "<key>:bytes": what each key keeps
MARKS = P + "marks:"  # + task id: the stage callbacks scheduled for it (`schedule_once`)


class RedisQueues:
    _redis: Any  # redis-py's annotations cannot tell decoded answers (str) from bytes, nor a pipeline's chain
    _scripts: dict[str, Any]  # the Lua scripts, registered by the store

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[script](keys=keys, args=args)

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None:
        delivery_id = self._redis.incr(DELIVERY_IDS)
        self._redis.pipeline().hset(DELIVERY, str(delivery_id), json.dumps([api_key, delivery, due_ms])).zadd(
            DUE, {str(delivery_id): due_ms}).execute()

    def schedule_once(self, api_key: str, task_id: str, mark: str, due_ms: int, delivery: str) -> bool:
        if not self._redis.sadd(MARKS + task_id, mark):  # another process scheduled it
            return False
        self.schedule_delivery(api_key, due_ms, delivery)
        return True

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

    def _delete_matching(self, pattern: str, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        doomed = [key for key in self._redis.scan_iter(match=pattern, count=1000) if key not in keep]
        for start in range(0, len(doomed), 500):
            self._redis.delete(*doomed[start:start + 500])
