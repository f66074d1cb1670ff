"""The SQLite store's connection and its shared queues: callback deliveries (claimed with
leases), queued scenarios, rate-limit buckets, and the two bounded journals."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from mock_server.sim.ratelimit import Rate, take
from mock_server.store.base import (
    DELIVERIES_PER_KEY,
    DeliveryClaim,
    DeliveryLog,
    PendingDelivery,
    RequestLog,
)
from mock_server.store.journal import RequestsIn

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, api_key TEXT NOT NULL, entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_key ON deliveries (api_key, id);
CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY AUTOINCREMENT, api_key TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS requests_by_key ON requests (api_key, id);
CREATE TABLE IF NOT EXISTS due_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, api_key TEXT NOT NULL, due_ms INTEGER NOT NULL,
    delivery TEXT NOT NULL, owner TEXT
);
CREATE INDEX IF NOT EXISTS due_deliveries_by_time ON due_deliveries (due_ms);
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, until_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS marks (task_id TEXT NOT NULL, mark TEXT NOT NULL, api_key TEXT NOT NULL,
                                  PRIMARY KEY (task_id, mark));
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, api_key TEXT NOT NULL, operation TEXT NOT NULL,
    call INTEGER NOT NULL, scenario TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS buckets (
    api_key TEXT NOT NULL, operation TEXT NOT NULL, tokens REAL NOT NULL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (api_key, operation)
);
"""
BUSY_TIMEOUT_SECONDS = 10.0
FIRST_WAIT_SECONDS, LONGEST_WAIT_SECONDS = 0.00002, 0.002


def connect(path: str | Path, *, durable: bool = True) -> sqlite3.Connection:
    # timeout=0: a locked database raises at once and `_retrying` waits. SQLite's own busy
    # handler sleeps 1 ms at the least, while another worker holds the lock for ~30 us.
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=0)
    _retrying(lambda: db.execute("PRAGMA journal_mode=WAL"))  # other workers may be starting too
    # NORMAL: WAL survives the machine's crash too, at an fsync per checkpoint (taken by a
    # writer while it holds the lock); OFF survives the app's crash, at half the write cost.
    db.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
    return db


def _retrying(step: Callable[[], sqlite3.Cursor]) -> sqlite3.Cursor:
    """`step`, tried again while another process holds the write lock (waits from 20 us,
    doubling to 2 ms, for at most BUSY_TIMEOUT_SECONDS)."""
    wait, deadline = FIRST_WAIT_SECONDS, time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(wait)
        wait = min(wait * 2, LONGEST_WAIT_SECONDS)


class SqliteQueues:
    KEYED_TABLES = ("deliveries", "requests", "due_deliveries", "queue", "buckets", "marks")

    def __init__(self, db: sqlite3.Connection, *, journal_size: int) -> None:
        self._db = db
        self._lock = threading.RLock()
        self.deliveries: DeliveryLog = _Journal(self, "deliveries", DELIVERIES_PER_KEY)
        self.requests: RequestLog = RequestsIn(_Journal(self, "requests", journal_size))

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return _retrying(lambda: self._db.execute(sql, params))

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from its first read (no lost updates)."""
        with self._lock:
            _retrying(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- callback deliveries ------------------------------------------------------------------
    def schedule_delivery(self, api_key: str, due_ms: int, delivery: str) -> None:
        with self._write() as db:
            self._schedule(db, api_key, due_ms, delivery)

    def schedule_once(self, api_key: str, task_id: str, mark: str, due_ms: int, delivery: str) -> bool:
        with self._write() as db:
            added = db.execute("INSERT OR IGNORE INTO marks (task_id, mark, api_key) VALUES (?, ?, ?)",
                               (task_id, mark, api_key)).rowcount == 1
            if added:
                self._schedule(db, api_key, due_ms, delivery)
            return added

    def _schedule(self, db: sqlite3.Connection, api_key: str, due_ms: int, delivery: str) -> None:
        with self._lock:
            db.execute("INSERT INTO due_deliveries (api_key, due_ms, delivery) VALUES (?, ?, ?)",
                       (api_key, due_ms, delivery))

    def claim_deliveries(self, now_ms: int, owner: str, limit: int, wall_s: float) -> list[DeliveryClaim]:
        with self._write() as db:
            rows = db.execute(
                "SELECT id, delivery FROM due_deliveries WHERE due_ms <= ? AND (owner IS NULL OR (owner != ? AND "
                "owner NOT IN (SELECT owner FROM owners WHERE until_s >= ?))) ORDER BY due_ms, id LIMIT ?",
                (now_ms, owner, wall_s, limit)).fetchall()
            db.executemany("UPDATE due_deliveries SET owner = ? WHERE id = ?", [(owner, row[0]) for row in rows])
        return [(str(delivery_id), delivery) for delivery_id, delivery in rows]

    def finish_delivery(self, delivery_id: str, *, retry_at_ms: int | None = None,
                        delivery: str | None = None) -> None:
        if retry_at_ms is None:
            self._execute("DELETE FROM due_deliveries WHERE id = ?", (int(delivery_id),))
        else:
            self._execute("UPDATE due_deliveries SET due_ms = ?, delivery = COALESCE(?, delivery), owner = NULL "
                          "WHERE id = ?", (retry_at_ms, delivery, int(delivery_id)))

    def pending_deliveries(self) -> list[PendingDelivery]:
        rows = self._execute("SELECT due_ms, delivery, owner FROM due_deliveries ORDER BY due_ms, id").fetchall()
        return [(int(due), delivery, owner) for due, delivery, owner in rows]

    def keep_alive(self, owner: str, until_s: float) -> None:
        self._execute("INSERT INTO owners VALUES (?, ?) ON CONFLICT(owner) DO UPDATE SET until_s = excluded.until_s",
                      (owner, until_s))

    def release_claims(self, owner: str | None = None) -> None:
        with self._write() as db:
            if owner is None:
                db.execute("UPDATE due_deliveries SET owner = NULL")
                db.execute("DELETE FROM owners")
            else:
                db.execute("UPDATE due_deliveries SET owner = NULL WHERE owner = ?", (owner,))
                db.execute("DELETE FROM owners WHERE owner = ?", (owner,))

    # -- queued scenarios ---------------------------------------------------------------------
    def push_scenarios(self, api_key: str, operation: str, scenario: str, *, call: bool, times: int) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO queue (api_key, operation, call, scenario) VALUES (?, ?, ?, ?)",
                           [(api_key, operation, int(call), scenario)] * times)
            self._count_queued(db)

    def pop_scenario(self, api_key: str, operation: str, *, call: bool) -> str | None:
        with self._write() as db:
            row = db.execute("SELECT id, call, scenario FROM queue WHERE api_key = ? AND operation = ? "
                             "ORDER BY id LIMIT 1", (api_key, operation)).fetchone()
            if row is None or bool(row[1]) != call:
                return None
            db.execute("DELETE FROM queue WHERE id = ?", (row[0],))
            self._count_queued(db)
            return str(row[2])

    def queued(self, api_key: str) -> dict[str, list[str]]:
        queued: dict[str, list[str]] = {}
        for operation, scenario in self._execute("SELECT operation, scenario FROM queue WHERE api_key = ? "
                                                 "ORDER BY id", (api_key,)).fetchall():
            queued.setdefault(operation, []).append(scenario)
        return queued

    def clear_queue(self, api_key: str | None = None) -> None:
        with self._write() as db:
            if api_key is None:
                db.execute("DELETE FROM queue")
            else:
                db.execute("DELETE FROM queue WHERE api_key = ?", (api_key,))
            self._count_queued(db)

    def _count_queued(self, db: sqlite3.Connection) -> None:
        """How many scenarios wait, among the control entries every call reads anyway: calls
        look at the queue itself only when something is queued."""
        db.execute("INSERT INTO control VALUES ('queued', (SELECT COUNT(*) FROM queue)) ON CONFLICT(name) "
                   "DO UPDATE SET value = excluded.value")

    # -- rate limits --------------------------------------------------------------------------
    def take_token(self, api_key: str, operation: str, *, count: int, seconds: float, now_ms: int) -> float | None:
        with self._write() as db:
            row = db.execute("SELECT tokens, at_ms FROM buckets WHERE api_key = ? AND operation = ?",
                             (api_key, operation)).fetchone()
            left, wait = take(row[0] if row else None, row[1] if row else now_ms, Rate(count, seconds), now_ms)
            db.execute("INSERT INTO buckets VALUES (?, ?, ?, ?) ON CONFLICT(api_key, operation) DO UPDATE SET "
                       "tokens = excluded.tokens, at_ms = excluded.at_ms", (api_key, operation, left, now_ms))
            return wait

    def clear_buckets(self, api_key: str | None = None) -> None:
        if api_key is None:
            self._execute("DELETE FROM buckets")
        else:
            self._execute("DELETE FROM buckets WHERE api_key = ?", (api_key,))


class _Journal:
    """Newest entries per key in one table, bounded."""

    def __init__(self, store: SqliteQueues, table: str, per_key: int) -> None:
        self._store = store
        self._table = table
        self._per_key = per_key

    def add(self, api_key: str, entry: Any) -> None:
        self.add_many([(api_key, entry)])

    def add_many(self, entries: list[tuple[str, Any]]) -> None:
        with self._store._write() as db:
            db.executemany(f"INSERT INTO {self._table} (api_key, entry) VALUES (?, ?)",
                           [(api_key, orjson.dumps(entry).decode()) for api_key, entry in entries])
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            if last // 100 != (last - len(entries)) // 100:  # trimmed now and then: old rows fall off
                for api_key in {api_key for api_key, _ in entries}:
                    db.execute(f"DELETE FROM {self._table} WHERE api_key = ? AND id NOT IN (SELECT id FROM "
                               f"{self._table} WHERE api_key = ? ORDER BY id DESC LIMIT ?)",
                               (api_key, api_key, self._per_key))

    def entries(self, api_key: str | None = None) -> list[Any]:
        if api_key is None:
            rows = self._store._execute(f"SELECT api_key, entry FROM {self._table} ORDER BY id").fetchall()
        else:
            rows = self._store._execute(f"SELECT api_key, entry FROM {self._table} WHERE api_key = ? "
                                        "ORDER BY id DESC LIMIT ?", (api_key, self._per_key)).fetchall()[::-1]
        return [orjson.loads(entry) for _, entry in rows]

    def clear(self, api_key: str | None = None) -> None:
        if api_key is None:
            self._store._execute(f"DELETE FROM {self._table}")
        else:
            self._store._execute(f"DELETE FROM {self._table} WHERE api_key = ?", (api_key,))

