"""Where state lives: memory (one process), SQLite (one machine's workers) or Redis
(replicas), behind one protocol; journals; uploads on disk. `redis_store` is imported only
when a Redis URL is given."""

from mock_server.sim.task import Task
from mock_server.store.base import DeliveryLog, JournalEntry, NotEnoughCredits, RequestLog, StoreError, TaskStore
from mock_server.store.memory import MemoryTaskStore
from mock_server.store.sqlite import SqliteTaskStore

__all__ = ["DeliveryLog", "JournalEntry", "MemoryTaskStore", "NotEnoughCredits", "RequestLog", "SqliteTaskStore",
           "StoreError", "Task", "TaskStore"]
