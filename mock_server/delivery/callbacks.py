"""Callback delivery: schedule on the virtual clock, sign, send, retry, journal.

A callback is due at the virtual instant its task ends (later for the `callback-delay`
scenario); retries are due `backoff * 2**(attempt-1)` virtual seconds after a failed attempt,
so tests move deliveries along with `advance()`. Sending happens in asyncio tasks, at most
`concurrency` at once, never on an API request's path. Only loopback targets and hosts the
settings allow are called; any other target is journaled as refused.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from contracts.api import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from mock_server.net import is_loopback
from mock_server.sim.clock import VirtualClock
from mock_server.store.base import DeliveryLog, JournalEntry

TIMEOUT_SECONDS = 15.0  # upstream: the receiver must answer within 15 s
FINAL_RESULTS = frozenset({"delivered", "failed", "refused", "dropped"})
EXCERPT_CHARS = 200  # of the receiver's answer, journaled with each attempt


@dataclass(frozen=True)
class Delivery:
    task_id: str
    api_key: str
    url: str
    payload: bytes
    attempt: int = 1
    copy: int = 1  # the `callback-duplicate` scenario sends copy 2 as well


@dataclass(frozen=True)
class CallbackPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 5.0
    concurrency: int = 16
    allow_hosts: tuple[str, ...] = ()
    hmac_key: str | None = None


class CallbackDispatcher:
    def __init__(self, policy: CallbackPolicy, *, clock: VirtualClock, journal: DeliveryLog,
                 transport: httpx.AsyncBaseTransport | None = None,
                 wall_time: Callable[[], float] = time.time,
                 on_final: Callable[[str], None] = lambda task_id: None) -> None:
        self.policy = policy
        self._on_final = on_final  # a task's callback reached its final result: the store notes it
        self._clock = clock
        self._journal = journal
        self._transport = transport
        self._wall_time = wall_time
        self._due: list[tuple[int, int, Delivery]] = []
        self._order = itertools.count()
        self._inflight: dict[str, set[asyncio.Task[None]]] = {}
        self._client: httpx.AsyncClient | None = None

    def schedule(self, delivery: Delivery, due_ms: int) -> None:
        heapq.heappush(self._due, (due_ms, next(self._order), delivery))

    def drop(self, delivery: Delivery) -> None:
        self._record(delivery, result="dropped", error="dropped by the callback-drop scenario")

    def pending(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return [{"taskId": d.task_id, "attempt": d.attempt, "dueAt": due} for due, _, d in
                sorted(self._due) if task_id is None or d.task_id == task_id]

    def journal(self, api_key: str | None = None, task_id: str | None = None) -> list[JournalEntry]:
        """Every attempt journaled (of one key, of one task, or all), oldest first."""
        return [entry for entry in self._journal.entries(api_key) if task_id is None or entry["taskId"] == task_id]

    def in_flight(self) -> int:
        return self._running()

    def clear(self, api_key: str | None = None) -> None:
        self._due = [item for item in self._due if api_key is not None and item[2].api_key != api_key]
        heapq.heapify(self._due)

    def pump(self) -> None:
        """Start due deliveries, at most `concurrency` at a time (the rest wait, in order)."""
        now = self._clock.now_ms()
        while self._due and self._due[0][0] <= now and self._running() < self.policy.concurrency:
            delivery = heapq.heappop(self._due)[2]
            task = asyncio.get_running_loop().create_task(self._attempt(delivery))
            self._inflight.setdefault(delivery.task_id, set()).add(task)
            task.add_done_callback(functools.partial(self._finished, delivery.task_id))

    def _running(self) -> int:
        return sum(len(tasks) for tasks in self._inflight.values())

    async def flush(self, task_id: str | None = None) -> None:
        """Wait until no delivery (of one task, or any) is due and none is in flight."""
        while True:
            self.pump()
            running = [task for key, tasks in self._inflight.items()
                       if task_id is None or key == task_id for task in tasks]
            if not running:
                if not any(self._inflight.values()) or task_id is None:
                    return
                # The task's own delivery waits for a free slot behind others: let them run.
                running = [task for tasks in self._inflight.values() for task in tasks]
            await asyncio.gather(*running, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: deliveries in flight are cancelled (a shutdown is never held up 15 s)."""
        running = [task for tasks in self._inflight.values() for task in tasks]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def _finished(self, task_id: str, task: asyncio.Task[None]) -> None:
        running = self._inflight.get(task_id)
        if running is not None:
            running.discard(task)
            if not running:
                del self._inflight[task_id]
        if not task.cancelled():
            self.pump()  # a slot is free

    def _record(self, delivery: Delivery, *, result: str, status: int | None = None,
                latency_ms: float | None = None, error: str | None = None,
                signature: str | None = None, response: str | None = None) -> None:
        self._journal.add(delivery.api_key, {
            "taskId": delivery.task_id, "url": delivery.url, "attempt": delivery.attempt,
            "copy": delivery.copy, "at": self._clock.now_ms(), "result": result,
            "status": status, "latencyMs": latency_ms, "error": error,
            "signature": signature, "response": response,
        })
        if result in FINAL_RESULTS and delivery.copy == 1:
            self._on_final(delivery.task_id)

    def _allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return is_loopback(host) or host in {allowed.lower() for allowed in self.policy.allow_hosts}

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "apikley-mock"}
        if self.policy.hmac_key:
            # Wall-clock seconds: receivers check freshness against their real clock.
            timestamp = str(int(self._wall_time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign_callback(self.policy.hmac_key, delivery.task_id, timestamp)
        return headers

    async def _attempt(self, delivery: Delivery) -> None:
        if not self._allowed(delivery.url):
            self._record(delivery, result="refused",
                         error="target is not loopback nor an allowed host (--callback-allow-host)")
            return
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=TIMEOUT_SECONDS,
                                             follow_redirects=False)
        headers = self._headers(delivery)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        try:
            response = await self._client.post(delivery.url, content=delivery.payload, headers=headers)
            status, excerpt = response.status_code, response.text[:EXCERPT_CHARS]
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = round((time.perf_counter() - started) * 1000, 2)
        record = functools.partial(self._record, delivery, status=status, latency_ms=latency,
                                   signature=headers.get(SIGNATURE_HEADER), response=excerpt)
        if error is None:
            record(result="delivered")
            return
        retrying = delivery.attempt < self.policy.max_attempts
        record(result="retrying" if retrying else "failed", error=error)
        if retrying:
            backoff_ms = round(self.policy.backoff_seconds * 2 ** (delivery.attempt - 1) * 1000)
            self.schedule(replace(delivery, attempt=delivery.attempt + 1),
                          self._clock.now_ms() + backoff_ms)
