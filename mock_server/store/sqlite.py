"""SQLite in WAL mode: every acknowledged task, balance and delivery survives a restart."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mock_server.sim.ids import id_number
from mock_server.sim.lifecycle import Outcome
from mock_server.sim.task import Task
from mock_server.store.base import DELIVERIES_PER_KEY, DeliveryLog, JournalEntry

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, model TEXT NOT NULL, param TEXT NOT NULL,
    resolution TEXT NOT NULL, duration TEXT NOT NULL, callback_url TEXT,
    created_ms INTEGER NOT NULL, origin TEXT NOT NULL, credits REAL NOT NULL,
    outcome TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0,
    callback_done INTEGER NOT NULL DEFAULT 0, output TEXT NOT NULL DEFAULT 'mp4'
);
CREATE INDEX IF NOT EXISTS tasks_by_key ON tasks (api_key);
CREATE INDEX IF NOT EXISTS tasks_unsettled ON tasks (settled) WHERE settled = 0;
CREATE INDEX IF NOT EXISTS tasks_callback_outstanding ON tasks (settled)
    WHERE settled = 1 AND callback_done = 0 AND callback_url IS NOT NULL;
CREATE TABLE IF NOT EXISTS balances (api_key TEXT PRIMARY KEY, balance REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, api_key TEXT NOT NULL, entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_key ON deliveries (api_key, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = ("task_id, api_key, model, param, resolution, duration, callback_url, created_ms, origin, credits, "
           "outcome, output")
OUTCOME = Task._fields.index("outcome")


def _row(task: Task) -> tuple[Any, ...]:
    return (*task[:OUTCOME], json.dumps(dataclasses.asdict(task.outcome)), *task[OUTCOME + 1:])


def _task(row: tuple[Any, ...]) -> Task:
    return Task._make((*row[:OUTCOME], Outcome(**json.loads(row[OUTCOME])), *row[OUTCOME + 1:]))


class SqliteTaskStore:
    """One connection behind a lock; WAL with synchronous=NORMAL."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes of the app
            _migrate(self._db)
            self._db.executescript(SCHEMA)
        self.deliveries: DeliveryLog = _SqliteDeliveries(self._db, self._lock)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def add(self, task: Task) -> None:
        try:
            self._execute(f"INSERT INTO tasks ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", _row(task))
        except sqlite3.IntegrityError as exc:
            raise KeyError(f"task {task.task_id} exists already") from exc

    def update(self, task: Task) -> None:
        cursor = self._execute("UPDATE tasks SET outcome = ? WHERE task_id = ?",
                               (_row(task)[OUTCOME], task.task_id))
        if cursor.rowcount == 0:
            raise KeyError(task.task_id)

    def get(self, task_id: str) -> Task | None:
        row = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _task(row) if row else None

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        if api_key is None:
            rows = self._execute(f"SELECT {COLUMNS} FROM tasks ORDER BY created_ms").fetchall()
        else:
            rows = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE api_key = ? ORDER BY created_ms",
                                 (api_key,)).fetchall()
        return (_task(row) for row in rows)

    def count(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def last_id_number(self) -> int:
        rows = self._execute("SELECT task_id FROM tasks ORDER BY task_id DESC LIMIT 1000").fetchall()
        numbers = (id_number(row[0]) for row in rows)
        return max((n for n in numbers if n is not None), default=0)

    def balance(self, api_key: str) -> float | None:
        row = self._execute("SELECT balance FROM balances WHERE api_key = ?", (api_key,)).fetchone()
        return float(row[0]) if row else None

    def set_balance(self, api_key: str, balance: float) -> None:
        self._execute("INSERT INTO balances VALUES (?, ?) ON CONFLICT(api_key) DO UPDATE SET "
                      "balance = excluded.balance", (api_key, balance))

    def mark_settled(self, task_id: str) -> None:
        self._execute("UPDATE tasks SET settled = 1 WHERE task_id = ?", (task_id,))

    def is_settled(self, task_id: str) -> bool:
        row = self._execute("SELECT settled FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return bool(row and row[0])

    def unsettled(self) -> Iterator[Task]:
        rows = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE settled = 0").fetchall()
        return (_task(row) for row in rows)

    def mark_callback_done(self, task_id: str) -> None:
        self._execute("UPDATE tasks SET callback_done = 1 WHERE task_id = ?", (task_id,))

    def callbacks_outstanding(self) -> Iterator[Task]:
        rows = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE settled = 1 AND callback_done = 0 "
                             "AND callback_url IS NOT NULL").fetchall()
        return (_task(row) for row in rows)

    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            if api_key is None:
                self._db.executescript("DELETE FROM tasks; DELETE FROM balances;")
            else:
                self._db.execute("DELETE FROM tasks WHERE api_key = ?", (api_key,))
                self._db.execute("DELETE FROM balances WHERE api_key = ?", (api_key,))
        self.deliveries.clear(api_key)

    def load_clock(self) -> int | None:
        """The virtual time the stored run had reached: the clock saved last, or the newest
        task if the process was killed before the clock caught up with it."""
        row = self._execute("SELECT MAX(COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'clock_ms'),"
                            " 0), COALESCE((SELECT MAX(created_ms) FROM tasks), 0))").fetchone()
        return int(row[0]) or None

    def save_clock(self, now_ms: int) -> None:
        self._execute("INSERT INTO meta VALUES ('clock_ms', ?) ON CONFLICT(name) DO UPDATE SET "
                      "value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                      (str(now_ms),))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _migrate(db: sqlite3.Connection) -> None:
    """Files written by earlier versions get the columns added since."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(tasks)")}
    if columns and "callback_done" not in columns:
        db.execute("ALTER TABLE tasks ADD COLUMN callback_done INTEGER NOT NULL DEFAULT 0")
        db.execute("UPDATE tasks SET callback_done = 1 WHERE settled = 1")  # handled before: not resent
    if columns and "output" not in columns:
        db.execute("ALTER TABLE tasks ADD COLUMN output TEXT NOT NULL DEFAULT 'mp4'")


class _SqliteDeliveries:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def add(self, api_key: str, entry: JournalEntry) -> None:
        with self._lock:
            cursor = self._db.execute("INSERT INTO deliveries (api_key, entry) VALUES (?, ?)",
                                      (api_key, json.dumps(entry)))
            # Bounded: keep the newest entries per key.
            self._db.execute("DELETE FROM deliveries WHERE api_key = ? AND id <= ?",
                             (api_key, (cursor.lastrowid or 0) - DELIVERIES_PER_KEY * 2))

    def entries(self, api_key: str | None = None) -> list[JournalEntry]:
        with self._lock:
            if api_key is None:
                rows = self._db.execute("SELECT entry FROM deliveries ORDER BY id").fetchall()
            else:
                rows = self._db.execute("SELECT entry FROM deliveries WHERE api_key = ? ORDER BY id",
                                        (api_key,)).fetchall()
        return [json.loads(row[0]) for row in rows][-DELIVERIES_PER_KEY:]

    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            if api_key is None:
                self._db.execute("DELETE FROM deliveries")
            else:
                self._db.execute("DELETE FROM deliveries WHERE api_key = ?", (api_key,))
