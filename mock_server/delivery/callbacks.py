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
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from contracts.spec.names import RECEIVER_TIMEOUT_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from mock_server.net import OUTGOING_HEADERS, OwnAddresses, is_loopback
from mock_server.sim.clock import VirtualClock
from mock_server.store.base import JournalEntry, TaskStore

LOG = logging.getLogger("apikley_mock.callbacks")
EXCERPT_CHARS = 200  # of the receiver's answer, journaled with each attempt


@dataclass(frozen=True)
class Delivery:
    task_id: str
    api_key: str
    url: str
    payload: str  # the callback body, JSON
    attempt: int = 1
    copy: int = 1  # the `callback-duplicate` scenario sends copy 2 as well
    due_ms: int | None = None  # when this attempt was due (virtual); journaled beside when it ran

    def encode(self) -> str:
        """As the store keeps it (other workers and replicas may send it)."""
        return orjson.dumps(self).decode()

    @classmethod
    def decode(cls, text: str) -> Delivery:
        return cls(**orjson.loads(text))


@dataclass(frozen=True)
class CallbackPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 5.0
    concurrency: int = 16
    allow_hosts: tuple[str, ...] = ()
    hmac_key: str | None = None


class CallbackDispatcher:
    """Sends the deliveries it claims from the store. Workers and replicas sharing a store
    each claim due deliveries with a lease on wall time that they renew while alive; the
    deliveries of a process that died are claimed by another once its lease has run out."""

    def __init__(self, policy: CallbackPolicy, *, clock: VirtualClock, store: TaskStore, owner: str,
                 transport: httpx.AsyncBaseTransport | None = None,
                 wall_time: Callable[[], float] = time.time, lease_seconds: float = 10.0,
                 own: OwnAddresses | None = None) -> None:
        self.policy = policy
        self._own = own or OwnAddresses()
        self.owner = owner  # this process, in claims and in the journal ("by")
        self._clock = clock
        self._store = store
        self._journal = store.deliveries
        self._transport = transport
        self._wall_time = wall_time
        self._lease = lease_seconds
        self._renew_at = 0.0
        self._inflight: dict[str, set[asyncio.Task[None]]] = {}
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def schedule(self, delivery: Delivery, due_ms: int) -> None:
        self._store.schedule_delivery(delivery.api_key, due_ms, delivery.encode())

    def drop(self, delivery: Delivery) -> None:
        self._record(delivery, result="dropped", error="dropped by the callback-drop scenario")

    def pending(self, task_id: str | None = None) -> list[dict[str, Any]]:
        """Deliveries not yet done (due later, or being sent: `claimedBy` names the process)."""
        pending = []
        for due, text, owner in self._store.pending_deliveries():
            delivery = Delivery.decode(text)
            if task_id is None or delivery.task_id == task_id:
                pending.append({"taskId": delivery.task_id, "attempt": delivery.attempt, "dueAt": due,
                                "claimedBy": owner})
        return pending

    def journal(self, api_key: str | None = None, task_id: str | None = None) -> list[JournalEntry]:
        """Every attempt journaled (of one key, of one task, or all), oldest first."""
        return [entry for entry in self._journal.entries(api_key) if task_id is None or entry["taskId"] == task_id]

    def in_flight(self) -> int:
        return self._running()

    def pump(self) -> None:
        """Claim and start due deliveries, at most `concurrency` at a time (the rest wait, in order)."""
        wall = self._wall_time()
        if wall >= self._renew_at:  # renewed well before the lease runs out
            self._store.keep_alive(self.owner, wall + self._lease)
            self._renew_at = wall + self._lease / 4
        room = self.policy.concurrency - self._running()
        if room <= 0:
            return
        loop = asyncio.get_running_loop()
        for delivery_id, text in self._store.claim_deliveries(self._clock.now_ms(), self.owner, room, wall):
            delivery = Delivery.decode(text)
            # A task's callbacks go one after another, in the order they fell due (Suno's stages).
            earlier = tuple(self._inflight.get(delivery.task_id, ()))
            task = loop.create_task(self._attempt(delivery_id, delivery, after=earlier))
            self._inflight.setdefault(delivery.task_id, set()).add(task)
            task.add_done_callback(functools.partial(self._finished, delivery.task_id))

    def _running(self) -> int:
        return sum(len(tasks) for tasks in self._inflight.values())

    async def flush(self, task_id: str | None = None, *, timeout_seconds: float = 2 * RECEIVER_TIMEOUT_SECONDS) -> None:
        """Wait until no delivery (of one task, or any) is due, here or in another process."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            self.pump()
            now = self._clock.now_ms()
            due = [item for item in self.pending(task_id) if item["dueAt"] <= now]
            running = [task for tasks in self._inflight.values() for task in tasks]
            if not due and not running:
                return
            if running:  # ours (a task's delivery may wait for a free slot behind others)
                await asyncio.wait(running, timeout=0.05)
            else:  # claimed by another worker or replica
                await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        """Stop: deliveries in flight are cancelled (a shutdown is never held up by a slow receiver) and
        given back, for another worker or the next start to send."""
        running = [task for tasks in self._inflight.values() for task in tasks]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._store.release_claims(self.owner)
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
            "copy": delivery.copy, "dueAt": delivery.due_ms, "at": self._clock.now_ms(), "result": result,
            "status": status, "latencyMs": latency_ms, "error": error,
            "signature": signature, "response": response, "by": self.owner,
        })

    def _refusal(self, url: str) -> str | None:
        """Why `url` may not be called, if it may not."""
        if self._own.includes_url(url):
            return "target is this mock itself; the mock never calls itself"
        host = (urlsplit(url).hostname or "").lower()
        if is_loopback(host) or host in {allowed.lower() for allowed in self.policy.allow_hosts}:
            return None
        return "target is not loopback nor an allowed host (--callback-allow-host)"

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **OUTGOING_HEADERS}
        if self.policy.hmac_key:
            # Wall-clock seconds: receivers check freshness against their real clock.
            timestamp = str(int(self._wall_time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign_callback(self.policy.hmac_key, delivery.task_id, timestamp)
        return headers

    async def _attempt(self, delivery_id: str, delivery: Delivery, *,
                       after: tuple[asyncio.Task[None], ...] = ()) -> None:
        retry_at: int | None = None
        try:
            if after:
                await asyncio.wait(after)
            retry_at = await self._send(delivery)
        except asyncio.CancelledError:
            raise  # stopping: the claim is given back in aclose()
        except Exception:  # a bug, not the receiver: said, and the delivery let go
            LOG.exception("callback for %s: unexpected error", delivery.task_id)
        if retry_at is not None:
            self._store.finish_delivery(delivery_id, retry_at_ms=retry_at,
                                        delivery=replace(delivery, attempt=delivery.attempt + 1,
                                                         due_ms=retry_at).encode())
        else:
            self._store.finish_delivery(delivery_id)

    async def _send(self, delivery: Delivery) -> int | None:
        """One attempt, journaled; the virtual instant of the next attempt, if any."""
        if (refusal := self._refusal(delivery.url)) is not None:
            self._record(delivery, result="refused", error=refusal)
            return None
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:  # in-process, each test has its own loop
            self._client = httpx.AsyncClient(transport=self._transport, timeout=RECEIVER_TIMEOUT_SECONDS,
                                             follow_redirects=False)
            self._client_loop = loop
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
            return None
        retrying = delivery.attempt < self.policy.max_attempts
        record(result="retrying" if retrying else "failed", error=error)
        if not retrying:
            return None
        return self._clock.now_ms() + round(self.policy.backoff_seconds * 2.0 ** (delivery.attempt - 1) * 1000)
