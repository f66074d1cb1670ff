"""SQLite in WAL mode: every acknowledged task, balance and delivery survives a restart, and
every worker process of one machine shares it (`serve --workers N`).

Each process holds one connection; changes of more than one fact run in one `BEGIN
IMMEDIATE` transaction, so two workers never both charge from the same balance or both
settle the same task. The queues, buckets and journals live in `sqlite_queues`.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from mock_server.sim.ids import id_number
from mock_server.sim.task import Task
from mock_server.store.base import NotEnoughCredits, StoreError
from mock_server.store.rows import COLUMNS as ROW_COLUMNS
from mock_server.store.rows import OUTCOME, row_task, task_row
from mock_server.store.sqlite_queues import SCHEMA as QUEUES_SCHEMA
from mock_server.store.sqlite_queues import SqliteQueues, connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, model TEXT NOT NULL, param TEXT NOT NULL,
    resolution TEXT NOT NULL, duration TEXT NOT NULL, callback_url TEXT,
    created_ms INTEGER NOT NULL, origin TEXT NOT NULL, credits REAL NOT NULL,
    outcome TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0,
    callback_done INTEGER NOT NULL DEFAULT 0, output TEXT NOT NULL DEFAULT 'mp4', end_ms INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_by_key ON tasks (api_key);
CREATE INDEX IF NOT EXISTS tasks_ends ON tasks (end_ms) WHERE settled = 0 AND end_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS balances (api_key TEXT PRIMARY KEY, balance REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS control (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = ", ".join(ROW_COLUMNS)


class SqliteTaskStore(SqliteQueues):
    shared = True

    def __init__(self, path: str | Path, *, journal_size: int = 1000, durable: bool = True) -> None:
        try:
            db = connect(path, durable=durable)
        except sqlite3.Error as exc:
            raise StoreError(f"db {path}: {exc}") from exc
        super().__init__(db, journal_size=journal_size)
        with self._write():
            _migrate(db)
            for statement in (SCHEMA + QUEUES_SCHEMA).split(";"):
                if statement.strip():
                    db.execute(statement)
            if db.execute("SELECT 1 FROM meta WHERE name = 'id_number'").fetchone() is None:
                ids = db.execute("SELECT task_id FROM tasks ORDER BY task_id DESC LIMIT 1000").fetchall()
                last = max((n for (task_id,) in ids if (n := id_number(task_id)) is not None), default=0)
                db.execute("INSERT INTO meta VALUES ('id_number', ?)", (str(max(last, self.load_clock() or 0)),))

    # -- tasks --------------------------------------------------------------------------------
    def create(self, task: Task, *, end_ms: int | None, initial_balance: float,
               name: Callable[[int], str] | None = None) -> Task:
        with self._write() as db:
            row = db.execute("SELECT balance FROM balances WHERE api_key = ?", (task.api_key,)).fetchone()
            balance = float(row[0]) if row else initial_balance
            if task.credits > balance:
                raise NotEnoughCredits(balance)
            # Numbered here, in the transaction: an id taken (a hex id stored by an earlier
            # version) moves on to the next number, which a rollback would hand out again.
            while True:
                if name is not None:
                    task = task._replace(task_id=name(self._next_number(db, task.created_ms)))
                try:
                    db.execute(f"INSERT INTO tasks ({COLUMNS}, end_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               (*task_row(task), end_ms))
                    break
                except sqlite3.IntegrityError as exc:
                    if name is None:
                        raise KeyError(f"task {task.task_id} exists already") from exc
            self._set_balance(db, task.api_key, balance - task.credits)
            return task

    def update(self, task: Task, *, end_ms: int | None) -> None:
        cursor = self._execute("UPDATE tasks SET outcome = ?, end_ms = ? WHERE task_id = ?",
                               (task_row(task)[OUTCOME], end_ms, task.task_id))
        if cursor.rowcount == 0:
            raise KeyError(task.task_id)

    def get(self, task_id: str) -> Task | None:
        row = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return row_task(row) if row else None

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        if api_key is None:
            rows = self._execute(f"SELECT {COLUMNS} FROM tasks ORDER BY created_ms, rowid").fetchall()
        else:
            rows = self._execute(f"SELECT {COLUMNS} FROM tasks WHERE api_key = ? ORDER BY created_ms, rowid",
                                 (api_key,)).fetchall()
        return (row_task(row) for row in rows)

    def usage(self, api_key: str) -> tuple[int, int]:
        row = self._execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(param)), 0) FROM tasks "
                            "WHERE api_key = ?", (api_key,)).fetchone()
        return int(row[0]), int(row[1])

    def forget(self, task_ids: list[str]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM tasks WHERE task_id = ?", [(task_id,) for task_id in task_ids])
            db.executemany("DELETE FROM marks WHERE task_id = ?", [(task_id,) for task_id in task_ids])

    def count(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def next_number(self, now_ms: int) -> int:
        with self._write() as db:
            return self._next_number(db, now_ms)

    @staticmethod
    def _next_number(db: sqlite3.Connection, now_ms: int) -> int:
        rows = db.execute("UPDATE meta SET value = MAX(CAST(value AS INTEGER) + 1, ?) WHERE name = 'id_number' "
                          "RETURNING value", (now_ms,)).fetchall()
        return int(rows[0][0])

    # -- balances -----------------------------------------------------------------------------
    def balance(self, api_key: str) -> float | None:
        row = self._execute("SELECT balance FROM balances WHERE api_key = ?", (api_key,)).fetchone()
        return float(row[0]) if row else None

    def set_balance(self, api_key: str, balance: float) -> None:
        with self._write() as db:
            self._set_balance(db, api_key, balance)

    @staticmethod
    def _set_balance(db: sqlite3.Connection, api_key: str, balance: float) -> None:
        db.execute("INSERT INTO balances VALUES (?, ?) ON CONFLICT(api_key) DO UPDATE SET "
                   "balance = excluded.balance", (api_key, balance))

    # -- settlement ---------------------------------------------------------------------------
    def due_ends(self, now_ms: int, limit: int) -> list[str]:
        rows = self._execute("SELECT task_id FROM tasks WHERE settled = 0 AND end_ms IS NOT NULL AND end_ms <= ? "
                             "ORDER BY end_ms LIMIT ?", (now_ms, limit)).fetchall()
        return [row[0] for row in rows]

    def watch(self, task_id: str, end_ms: int) -> None:
        self._execute("UPDATE tasks SET end_ms = ? WHERE task_id = ?", (end_ms, task_id))

    def unwatch(self, task_id: str) -> None:
        self._execute("UPDATE tasks SET end_ms = NULL WHERE task_id = ?", (task_id,))

    def settle(self, task_id: str, *, refund: float, initial_balance: float,
               deliveries: list[tuple[int, str]]) -> bool:
        with self._write() as db:
            row = db.execute("SELECT api_key FROM tasks WHERE task_id = ? AND settled = 0", (task_id,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE tasks SET settled = 1, end_ms = NULL WHERE task_id = ?", (task_id,))
            if refund:
                stored = db.execute("SELECT balance FROM balances WHERE api_key = ?", row).fetchone()
                self._set_balance(db, row[0], (float(stored[0]) if stored else initial_balance) + refund)
            for due_ms, delivery in deliveries:
                self._schedule(db, row[0], due_ms, delivery)
            return True

    def is_settled(self, task_id: str) -> bool:
        row = self._execute("SELECT settled FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return bool(row and row[0])

    # -- control entries ----------------------------------------------------------------------
    def control(self) -> dict[str, str]:
        return dict(self._execute("SELECT name, value FROM control").fetchall())

    def change_control(self, name: str, change: Callable[[str | None], str]) -> str:
        with self._write() as db:
            row = db.execute("SELECT value FROM control WHERE name = ?", (name,)).fetchone()
            value = change(row[0] if row else None)
            db.execute("INSERT INTO control VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                       (name, value))
            return value

    # -- lifetime -----------------------------------------------------------------------------
    def clear(self, api_key: str | None = None) -> None:
        with self._write() as db:
            where, params = ("", ()) if api_key is None else (" WHERE api_key = ?", (api_key,))
            for table in ("tasks", "balances", *self.KEYED_TABLES):
                db.execute(f"DELETE FROM {table}{where}", params)
            self._count_queued(db)

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
    if columns and "output" not in columns:
        db.execute("ALTER TABLE tasks ADD COLUMN output TEXT NOT NULL DEFAULT 'mp4'")
    if columns and "end_ms" not in columns:
        db.execute("ALTER TABLE tasks ADD COLUMN end_ms INTEGER")
        db.execute("UPDATE tasks SET end_ms = created_ms WHERE settled = 0")  # looked at again on the next tick


@contextlib.contextmanager
def served_alone(path: str | Path) -> Iterator[None]:
    """Hold `path` for one serving mock (its workers included) while the block runs: a second
    plain `serve` on the same file would free the first one's delivery claims at its start and
    both would send the same callbacks. StoreError, naming the file, when another holds it."""
    lock = Path(f"{path}.lock")
    try:
        handle = lock.open("a")
    except OSError as exc:
        raise StoreError(f"db {path}: cannot create its lock file {lock} ({exc.strerror})") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(f"db {path}: another apikley-mock process serves it; one file is one mock "
                             "(use --workers N for more processes on it, or --store redis://... for replicas)") from exc
        yield
